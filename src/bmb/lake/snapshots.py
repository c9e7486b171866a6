"""Lake snapshots: one consistent cut across all tables, recorded in the ledger.

Iceberg commits one table at a time, but a batch of ingestion touches several tables.
BMB therefore commits a batch in two steps: each table's new data files are committed
to that table (an Iceberg snapshot each), then one row appended to the ingestion ledger
records the Iceberg snapshot id of *every* table. That ledger append is the commit
point: readers only ever look at the tables as the latest ledger row says, so a batch
interrupted before it is either fully visible or not at all. Recovery rolls back any
table that moved past the last recorded cut (ADR 0004).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True, slots=True)
class LakeSnapshot:
    """A committed state of the lake: its number and each table's Iceberg snapshot."""

    lake_snapshot_id: int
    batch_id: str
    kind: str
    finished_at: datetime
    bmb_version: str
    table_snapshots: MappingProxyType[str, int] = field(
        default_factory=lambda: MappingProxyType({})
    )

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> LakeSnapshot:
        snaps = {str(k): int(v) for k, v in json.loads(row["table_snapshots"]).items()}
        return cls(
            lake_snapshot_id=int(row["lake_snapshot_id"]),
            batch_id=str(row["batch_id"]),
            kind=str(row["kind"]),
            finished_at=row["finished_at"],
            bmb_version=str(row["bmb_version"]),
            table_snapshots=MappingProxyType(snaps),
        )

    def label(self) -> str:
        """How results name the snapshot they used."""
        return f"lake snapshot {self.lake_snapshot_id} ({self.finished_at:%Y-%m-%d %H:%M:%S})"
