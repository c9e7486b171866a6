"""The few lake reads a FHIR batch needs beyond the run's snapshot views.

The run attaches the snapshot it started from; FHIR batches also need what earlier
batches of the same run committed (ids to replace, logical ids remembered), so these
read the lake's current files directly.
"""

from __future__ import annotations

from bmb.domain.cdm.bmb_tables import FHIR_KEY
from bmb.lake.schema import arrow_schema
from bmb.lake.store import all_tables
from bmb.lake.views import files_select
from bmb.pipeline.batch import Batch

FHIR_KEY_TABLE = "bmb.fhir_key"


def _listing(files: list[str]) -> str:
    return "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"


def current(b: Batch, qname: str) -> str:
    """A subquery over a table's content at the lake's current snapshot."""
    return f"({files_select(all_tables()[qname], b.lake.data_files(qname))})"


def current_ids(b: Batch, qname: str, id_col: str, new_file: object) -> list[int]:
    """Ids of ``new_file`` (a Parquet file being committed) already in table ``qname``."""
    files = b.lake.data_files(qname)
    if not files:
        return []
    rows = b.con.execute(
        f"SELECT DISTINCT n.{id_col} FROM read_parquet('{new_file}') n WHERE n.{id_col} IN "
        f"(SELECT {id_col} FROM read_parquet({_listing(files)}, union_by_name = true))"
    ).fetchall()
    return [int(r[0]) for r in rows]


def ensure_fhir_key(b: Batch) -> None:
    """Create ``bmb.fhir_key`` in a lake made before it existed.

    A table the lake's cut does not name is set back to its empty first snapshot, so
    files a crashed batch added to it are never seen (the same rule as recovery).
    """
    catalog = b.lake.catalog
    if not catalog.table_exists(FHIR_KEY_TABLE):
        tbl = catalog.create_table(
            FHIR_KEY_TABLE,
            schema=arrow_schema(FHIR_KEY),
            properties={"write.parquet.compression-codec": "zstd", "format-version": "2"},
        )
        tbl.append(arrow_schema(FHIR_KEY).empty_table())
        return
    if FHIR_KEY_TABLE not in b.lake.current().table_snapshots:
        tbl = b.lake.table(FHIR_KEY_TABLE)
        first = min(tbl.snapshots(), key=lambda s: s.timestamp_ms, default=None)
        now = tbl.current_snapshot()
        if first is not None and now is not None and now.snapshot_id != first.snapshot_id:
            tbl.manage_snapshots().set_current_snapshot(first.snapshot_id).commit()
