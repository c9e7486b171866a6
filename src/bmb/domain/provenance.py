"""Where a result came from: lake snapshot, BMB version, engine, time (invariant 7).

Every result object BMB computes holds one :class:`Provenance`, and every file it
writes carries it (Parquet metadata, a CSV sidecar, the HTML page's header), so a
number in a report can be traced to the exact data and code that produced it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True, slots=True)
class Provenance:
    """The lake snapshot, BMB version and engine that produced a result, and when."""

    snapshot_id: str | None
    bmb_version: str
    engine: str
    created_at: datetime

    @classmethod
    def now(cls, *, snapshot_id: str | None, bmb_version: str, engine: str) -> Provenance:
        return cls(snapshot_id, bmb_version, engine, datetime.now(UTC).replace(microsecond=0))

    def as_dict(self) -> dict[str, str]:
        """Flat text fields, for file metadata (``bmb.`` prefixed keys)."""
        return {
            "bmb.snapshot_id": self.snapshot_id or "",
            "bmb.version": self.bmb_version,
            "bmb.engine": self.engine,
            "bmb.created_at": self.created_at.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> Provenance:
        return cls(
            snapshot_id=data.get("bmb.snapshot_id") or None,
            bmb_version=data["bmb.version"],
            engine=data["bmb.engine"],
            created_at=datetime.fromisoformat(data["bmb.created_at"]),
        )

    def describe(self) -> str:
        """One line for people: ``snapshot 12 · bmb 0.1.0 · duckdb · 2026-11-24T10:00:00+00:00``."""
        snap = f"snapshot {self.snapshot_id}" if self.snapshot_id else "no lake snapshot"
        return f"{snap} · bmb {self.bmb_version} · {self.engine} · {self.created_at.isoformat()}"
