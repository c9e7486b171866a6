"""Generate ``src/bmb/domain/cdm/spec.py`` from the official OMOP CDM v5.4 spec CSVs.

Run from the repository root:

    .venv/bin/python scripts/gen_cdm.py ../shared/fixtures/omop-cdm

The CDM's field-level specification (OHDSI/CommonDataModel) is the single source of
truth for table names, types, required fields and keys; generating the declarations
keeps BMB from drifting away from it. ``tests/domain/test_cdm_spec.py`` re-reads the
CSV and checks the generated module still matches.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

OUT = Path("src/bmb/domain/cdm/spec.py")

HEADER = '''"""OMOP CDM v5.4 table declarations, generated from the official field-level spec.

Do not edit: regenerate with ``scripts/gen_cdm.py`` (see its docstring).
Source: OHDSI/CommonDataModel ``OMOP_CDMv5.4_Field_Level.csv`` and
``OMOP_CDMv5.4_Table_Level.csv``.
"""

from __future__ import annotations

from bmb.domain.cdm.model import CdmField as F
from bmb.domain.cdm.model import CdmTable as T

TABLES: tuple[T, ...] = (
'''


def _yes(value: str) -> bool:
    return value.strip().lower() == "yes"


def _na(value: str) -> str | None:
    v = value.strip()
    return None if v in ("", "NA") else v


def main(spec_dir: Path) -> None:
    tables = list(
        csv.DictReader(
            (spec_dir / "OMOP_CDMv5.4_Table_Level.csv").open(encoding="utf-8-sig"),
        )
    )
    fields = list(
        csv.DictReader(
            (spec_dir / "OMOP_CDMv5.4_Field_Level.csv").open(encoding="utf-8-sig"),
        )
    )
    lines = [HEADER]
    for t in tables:
        name = t["cdmTableName"].strip().lower()
        lines.append(f"    T(\n        {name!r},\n        {t['schema'].strip()!r},\n        (\n")
        for f in fields:
            if f["cdmTableName"].strip().lower() != name:
                continue
            args = [
                repr(f["cdmFieldName"].strip().lower()),
                repr(f["cdmDatatype"].strip().lower()),
                repr(_yes(f["isRequired"])),
            ]
            if _yes(f["isPrimaryKey"]):
                args.append("pk=True")
            fk_table = _na(f["fkTableName"])
            if fk_table:
                args.append(f"fk=({fk_table.lower()!r}, {(_na(f['fkFieldName']) or '').lower()!r})")
            domain = _na(f["fkDomain"])
            if domain:
                args.append(f"domain={domain!r}")
            lines.append(f"            F({', '.join(args)}),\n")
        lines.append("        ),\n    ),\n")
    lines.append(")\n")
    OUT.write_text("".join(lines), encoding="utf-8")
    subprocess.run([sys.executable, "-m", "ruff", "format", str(OUT)], check=True)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/fixtures/omop-cdm"))
