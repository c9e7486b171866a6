"""DuckDB views over a lake snapshot's live Parquet files.

Shared by the query engines and by the pipeline (which reads the current snapshot to
find persons already known, concepts, and the ledger) so both see a snapshot the same
way: one view per table, typed exactly as declared, over the files the snapshot lists.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bmb.domain.cdm import BMB_TABLES, CDM_TABLES, CdmTable
from bmb.lake.schema import duckdb_type
from bmb.lake.snapshots import LakeSnapshot
from bmb.lake.store import Lake, table_namespace

if TYPE_CHECKING:
    import duckdb

#: BMB tables an analyst's engine shows (the landing zone's tables never are).
VISIBLE_BMB_TABLES = ("ingestion_ledger", "local_concept")


def empty_select(table: CdmTable) -> str:
    cols = ", ".join(f"CAST(NULL AS {duckdb_type(f)}) AS {f.name}" for f in table.fields)
    return f"SELECT {cols} WHERE false"


def files_select(table: CdmTable, files: list[str]) -> str:
    if not files:
        return empty_select(table)
    listing = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    cols = ", ".join(f"CAST({f.name} AS {duckdb_type(f)}) AS {f.name}" for f in table.fields)
    opts = "union_by_name = true, hive_partitioning = false"
    return f"SELECT {cols} FROM read_parquet([{listing}], {opts})"


def attach_snapshot(
    con: duckdb.DuckDBPyConnection,
    lake: Lake,
    snapshot: LakeSnapshot,
    *,
    restricted: bool = False,
    bmb_tables: tuple[str, ...] = VISIBLE_BMB_TABLES,
) -> None:
    """Create the views of a lake snapshot in a DuckDB connection.

    CDM tables appear under their own names in the default schema; BMB's tables under
    ``bmb``. ``restricted`` adds the landing zone's tables (quarantine, landed files)
    under ``landing`` for stewards; analysts never get them.
    """
    con.execute("CREATE SCHEMA IF NOT EXISTS bmb")
    for name, decl in CDM_TABLES.items():
        files = lake.data_files(f"cdm.{name}", snapshot)
        con.execute(f"CREATE OR REPLACE VIEW {name} AS {files_select(decl, files)}")
    shown = [n for n in BMB_TABLES if n in bmb_tables]
    if restricted:
        con.execute("CREATE SCHEMA IF NOT EXISTS landing")
        shown += [n for n, t in BMB_TABLES.items() if table_namespace(t) == "landing"]
    con.execute("CREATE SCHEMA IF NOT EXISTS derived")
    for qname in snapshot.table_snapshots:
        if not qname.startswith("derived."):
            continue
        files = lake.data_files(qname, snapshot)
        if files:
            listing = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
            con.execute(
                f"CREATE OR REPLACE VIEW {qname} AS "
                f"SELECT * FROM read_parquet([{listing}], hive_partitioning = false)"
            )
    for name in shown:
        decl = BMB_TABLES[name]
        ns = table_namespace(decl)
        schema = "landing" if ns == "landing" else "bmb"
        if name == "ingestion_ledger":  # the ledger as of the snapshot
            files = lake.all_data_files(f"{ns}.{name}")
            body = (
                f"{files_select(decl, files)} WHERE lake_snapshot_id <= {snapshot.lake_snapshot_id}"
            )
        else:
            body = files_select(decl, lake.data_files(f"{ns}.{name}", snapshot))
        con.execute(f"CREATE OR REPLACE VIEW {schema}.{name} AS {body}")
