"""Put a CDM held as Arrow tables into an engine (tests, ``--cdm-csv``, benchmarks).

Every CDM v5.4 table is created, empty when not given, so that any query compiled
against the spec runs; columns are typed and ordered as the lake stores them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from bmb.domain.cdm import CDM_TABLES
from bmb.engines.capabilities import load_arrow
from bmb.lake.schema import arrow_schema

if TYPE_CHECKING:
    import pyarrow as pa

    from bmb.engines.base import Engine


def cdm_table(name: str, table: pa.Table | None = None, *, drop_extra: bool = False) -> pa.Table:
    """``table`` conformed to the CDM declaration of ``name`` (or an empty one).

    Missing columns become NULL, extra columns are refused (or, with ``drop_extra``,
    left out: the lake's own bookkeeping columns such as ``batch``), and the spec's
    quoted reserved words (``"offset"``) lose their quotes.
    """
    import pyarrow as pa

    decl = CDM_TABLES[name]
    schema = arrow_schema(decl)
    schema = pa.schema([f.with_name(f.name.strip('"')) for f in schema])
    if table is None:
        return schema.empty_table()
    table = table.rename_columns([c.strip('"') for c in table.column_names])
    extra = set(table.column_names) - set(schema.names)
    if extra and not drop_extra:
        raise ValueError(f"{name} has no column(s) {sorted(extra)}")
    arrays = [
        table.column(f.name).cast(f.type)
        if f.name in table.column_names
        else pa.nulls(table.num_rows, f.type)
        for f in schema
    ]
    return pa.Table.from_arrays(arrays, schema=schema)


def load_cdm(
    engine: Engine,
    tables: Mapping[str, pa.Table],
    *,
    temporary: bool = False,
    every_table: bool = True,
) -> None:
    """Create the CDM tables in ``engine`` from Arrow tables (all of them by default)."""
    unknown = set(tables) - set(CDM_TABLES)
    if unknown:
        raise ValueError(f"not CDM v5.4 tables: {sorted(unknown)}")
    names = list(CDM_TABLES) if every_table else list(tables)
    for name in names:
        load_arrow(engine, name, cdm_table(name, tables.get(name)), temporary=temporary)
