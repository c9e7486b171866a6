"""Write a batch's rows as Parquet data files inside a table's location.

Rows come either from a DuckDB query (the mappings: DuckDB writes the file on all
cores, nothing passes through Python) or from an Arrow table (small tables such as the
ledger's companions). Every file is shaped exactly like the declared table
(:func:`bmb.lake.schema.select_list`) so the lake can add it without rewriting.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

from bmb.lake.schema import arrow_schema, select_list
from bmb.lake.store import Lake, TableWrite, all_tables

if TYPE_CHECKING:
    import duckdb


def write_query(
    con: duckdb.DuckDBPyConnection,
    lake: Lake,
    qname: str,
    batch_id: str,
    columns: dict[str, str],
    from_sql: str,
    *,
    part: str = "part-0",
    replace_all: bool = False,
) -> TableWrite:
    """Write ``SELECT <columns> <from_sql>`` as one Parquet file of table ``qname``.

    ``columns`` maps CDM column names to SQL expressions; missing columns are NULL.
    Returns an empty write when the query has no rows (no empty files in the lake).
    """
    decl = all_tables()[qname]
    sql = f"SELECT {select_list(decl, columns)}\n{from_sql}"
    path = lake.data_dir(qname, batch_id) / f"{part}.parquet"
    con.execute(
        f"COPY ({sql}) TO '{path}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 262144)"
    )
    rows = int(pq.ParquetFile(path).metadata.num_rows)
    if rows == 0 and not replace_all:
        path.unlink()
        return TableWrite(qname, [], 0)
    return TableWrite(qname, [path], rows, replace_all=replace_all)


def write_arrow(
    lake: Lake,
    qname: str,
    batch_id: str,
    table: pa.Table,
    *,
    part: str = "part-0",
    replace_all: bool = False,
) -> TableWrite:
    """Write an Arrow table (cast to the declared schema) as one Parquet file."""
    decl = all_tables()[qname]
    schema = arrow_schema(decl)
    missing = [f.name for f in schema if f.name not in table.column_names]
    for name in missing:
        table = table.append_column(name, pa.nulls(table.num_rows, schema.field(name).type))
    table = table.select(schema.names).cast(schema)
    if table.num_rows == 0 and not replace_all:
        return TableWrite(qname, [], 0)
    path = lake.data_dir(qname, batch_id) / f"{part}.parquet"
    pq.write_table(table, path, compression="zstd")
    return TableWrite(qname, [path], table.num_rows, replace_all=replace_all)
