"""Arrow types of CDM and BMB tables, from their declarations.

Every Iceberg column is optional: the spec's "required" is enforced by BMB's mapping
and checked by the quality tests, because the data files are written by DuckDB, which
marks every Parquet column optional, and Iceberg refuses optional files for required
columns (ADR 0004).
"""

from __future__ import annotations

import pyarrow as pa

from bmb.domain.cdm.model import CdmField, CdmTable


def arrow_type(field: CdmField) -> pa.DataType:
    """The Arrow type BMB stores a CDM field as."""
    kind = field.kind
    if kind == "integer":
        return pa.int64()
    if kind == "float":
        return pa.float64()
    if kind == "date":
        return pa.date32()
    if kind == "datetime":
        return pa.timestamp("us")
    return pa.string()


def arrow_schema(table: CdmTable) -> pa.Schema:
    """The Arrow schema of a declared table, fields in declaration order."""
    return pa.schema([pa.field(f.name, arrow_type(f), nullable=True) for f in table.fields])


def duckdb_type(field: CdmField) -> str:
    """The DuckDB type matching :func:`arrow_type` (for casts in mapping SQL)."""
    kind = field.kind
    return {
        "integer": "BIGINT",
        "float": "DOUBLE",
        "date": "DATE",
        "datetime": "TIMESTAMP",
    }.get(kind, "VARCHAR")


def select_list(table: CdmTable, provided: dict[str, str]) -> str:
    """A SELECT list producing exactly the table's columns, in order, typed.

    ``provided`` maps a column to its SQL expression; missing columns become typed
    NULLs. Building every mapping through this keeps the written Parquet files' schema
    identical to the Iceberg table's, whatever the mapping forgot. Text is cut to the
    spec's width (``varchar(50)`` source values, as OHDSI ETLs do), so the CDM exports
    to databases that enforce it.
    """
    unknown = set(provided) - set(table.field_names)
    if unknown:
        raise KeyError(f"{table.name} has no column(s) {sorted(unknown)}")
    parts = []
    for f in table.fields:
        expr = provided.get(f.name, "NULL")
        width = _varchar_width(f)
        if width is not None and f.name in provided:
            # the spec's width: OMOP databases (PostgreSQL, SQL Server) enforce it
            parts.append(f"left(CAST({expr} AS VARCHAR), {width}) AS {f.name}")
        else:
            parts.append(f"CAST({expr} AS {duckdb_type(f)}) AS {f.name}")
    return ",\n  ".join(parts)


def _varchar_width(field: CdmField) -> int | None:
    if field.datatype.startswith("varchar(") and field.datatype != "varchar(max)":
        return int(field.datatype[len("varchar(") : -1])
    return None
