"""DuckDB over a lake snapshot: CDM tables as views over live Parquet files, no copy.

``open_lake`` is what ``bmb.open_lake`` returns. It pins one lake snapshot when it
opens, so every query of the engine sees the same consistent cut, and every result can
name the snapshot it used (invariant 7).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from bmb.lake.paths import default_lake_dir
from bmb.lake.snapshots import LakeSnapshot
from bmb.lake.store import Lake
from bmb.lake.views import attach_snapshot

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa


class LakeEngine:
    """A DuckDB connection whose CDM tables are views over one lake snapshot."""

    dialect = "duckdb"

    def __init__(
        self,
        lake: Lake,
        snapshot: LakeSnapshot,
        connection: duckdb.DuckDBPyConnection,
    ) -> None:
        self.lake = lake
        self.snapshot = snapshot
        self.con = connection

    @property
    def snapshot_label(self) -> str:
        return self.snapshot.label()

    def query(self, sql: str) -> pa.Table:
        return self.con.sql(sql).to_arrow_table()

    def execute(self, sql: str) -> None:
        self.con.execute(sql)

    def sql(self, sql: str) -> Any:
        """A DuckDB relation (lazy) for the query."""
        return self.con.sql(sql)

    def table_names(self) -> list[str]:
        rows = self.con.sql(
            "SELECT table_name FROM information_schema.tables ORDER BY table_name"
        ).fetchall()
        return [str(r[0]) for r in rows]

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> LakeEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_lake(
    path: str | Path | None = None,
    *,
    snapshot: int | None = None,
    restricted: bool = False,
    threads: int | None = None,
    memory_limit: str | None = None,
) -> LakeEngine:
    """Open a lake for querying at its current (or a given) lake snapshot.

    ``restricted`` also shows the landing zone's quarantine (stewards only).
    """
    import duckdb

    lake = Lake.open(Path(path) if path is not None else default_lake_dir())
    snap = lake.snapshot(snapshot)
    config: dict[str, Any] = {}
    if threads:
        config["threads"] = threads
    if memory_limit:
        config["memory_limit"] = memory_limit
    con = duckdb.connect(config=config)
    attach_snapshot(con, lake, snap, restricted=restricted)
    return LakeEngine(lake, snap, con)
