"""What ``bmb status`` shows: tables and rows, snapshots, recent batches, quarantine.

Row counts come from the data files' Parquet footers (no scan), so status is quick
even on a large lake.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from bmb.lake.store import Lake, all_tables


def lake_status(root: Path, *, last: int = 10) -> dict[str, Any]:
    lake = Lake.open(root)
    snap = lake.current()
    tables = []
    for qname in all_tables():
        if qname == "bmb.ingestion_ledger":
            continue
        files = lake.data_files(qname, snap)
        rows = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
        tables.append({"table": qname, "rows": rows, "files": len(files)})
    ledger = lake.ledger_rows()
    quarantine: dict[str, int] = {}
    for row in ledger:
        for reason, n in json.loads(row["quarantined_by_reason"] or "{}").items():
            quarantine[reason] = quarantine.get(reason, 0) + int(n)
    recent = [
        {
            k: row[k]
            for k in (
                "lake_snapshot_id",
                "kind",
                "note",
                "records_in",
                "records_quarantined",
                "finished_at",
            )
        }
        for row in ledger[-last:]
    ]
    return {
        "root": str(root),
        "lake_id": lake.identity.lake_id,
        "region": lake.identity.region,
        "snapshot": {"id": snap.lake_snapshot_id, "label": snap.label()},
        "snapshots": len(ledger),
        "tables": tables,
        "batches": recent,
        "quarantine": quarantine,
    }
