"""DuckDB over a lake snapshot: CDM tables as views over live Parquet files, no copy.

``open_lake`` is what ``bmb.open_lake`` returns. It pins one lake snapshot when it
opens, so every query of the engine sees the same consistent cut, and every result can
name the snapshot it used (invariant 7).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from bmb.domain.cdm import BMB_TABLES, CDM_TABLES, CdmTable
from bmb.lake.paths import default_lake_dir
from bmb.lake.schema import duckdb_type
from bmb.lake.snapshots import LakeSnapshot
from bmb.lake.store import Lake, table_namespace

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

#: BMB tables a lake engine shows (the landing zone's tables are never shown).
VISIBLE_BMB_TABLES = ("ingestion_ledger", "local_concept")


def _empty_select(table: CdmTable) -> str:
    cols = ", ".join(f"CAST(NULL AS {duckdb_type(f)}) AS {f.name}" for f in table.fields)
    return f"SELECT {cols} WHERE false"


def _files_select(table: CdmTable, files: list[str]) -> str:
    listing = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    cols = ", ".join(f"CAST({f.name} AS {duckdb_type(f)}) AS {f.name}" for f in table.fields)
    return f"SELECT {cols} FROM read_parquet([{listing}], union_by_name = true)"


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


def attach_snapshot(
    con: duckdb.DuckDBPyConnection, lake: Lake, snapshot: LakeSnapshot, *, restricted: bool = False
) -> None:
    """Create the views of a lake snapshot in a DuckDB connection.

    CDM tables appear under their own names in the default schema; BMB's ledger and
    local concepts under ``bmb``. ``restricted`` adds the landing zone's quarantine for
    stewards (schema ``landing``); analysts never get it.
    """
    con.execute("CREATE SCHEMA IF NOT EXISTS bmb")
    for name, decl in CDM_TABLES.items():
        files = lake.data_files(f"cdm.{name}", snapshot)
        body = _files_select(decl, files) if files else _empty_select(decl)
        con.execute(f"CREATE OR REPLACE VIEW {name} AS {body}")
    shown = [n for n in BMB_TABLES if n in VISIBLE_BMB_TABLES]
    if restricted:
        con.execute("CREATE SCHEMA IF NOT EXISTS landing")
        shown += [n for n, t in BMB_TABLES.items() if table_namespace(t) == "landing"]
    for name in shown:
        decl = BMB_TABLES[name]
        ns = table_namespace(decl)
        schema = "landing" if ns == "landing" else "bmb"
        files = lake.data_files(f"{ns}.{name}", snapshot)
        if name == "ingestion_ledger":
            files = [
                _strip(t.file.file_path)
                for t in lake.table("bmb.ingestion_ledger").scan().plan_files()
            ]
        body = _files_select(decl, files) if files else _empty_select(decl)
        if name == "ingestion_ledger":  # the ledger as of the pinned snapshot
            body = f"{body} WHERE lake_snapshot_id <= {snapshot.lake_snapshot_id}"
        con.execute(f"CREATE OR REPLACE VIEW {schema}.{name} AS {body}")


def _strip(uri: str) -> str:
    return uri[len("file://") :] if uri.startswith("file://") else uri


def open_lake(
    path: str | Path | None = None,
    *,
    snapshot: int | None = None,
    restricted: bool = False,
    threads: int | None = None,
    memory_limit: str | None = None,
) -> LakeEngine:
    """Open a lake for querying at its current (or a given) lake snapshot."""
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
