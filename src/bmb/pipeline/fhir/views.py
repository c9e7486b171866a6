"""Run the shipped OMOP views over the batch's staged resources, in its DuckDB.

Each view becomes a temp table ``v_<name>`` whose ``record`` column is the staged
record's number, so every row leads back to its source line (for quarantine and
accounting) whatever the resource's own id. On the compiled path the record number
replaces ``id`` in the struct the view reads (``getResourceKey()`` then yields it);
the resource's real id stays in ``p_fhir.fhir_id`` for references. A view the
compiler declines runs on the reference path over the same records, with the same
substitution, and gives the same rows.
"""

from __future__ import annotations

import json

import pyarrow as pa

from bmb.pipeline.batch import Batch, q
from bmb.pipeline.fhir.stage import TABLE
from bmb.sources.fhir.column_types import schema as view_schema
from bmb.sources.fhir.omop import OMOP_VIEWS, omop_view
from bmb.sources.fhir.runner import choose, evaluate_batches
from bmb.sources.fhir.sql import schema as struct_schema
from bmb.sources.fhir.sql.expr import quote


def _pending(resource_type: str) -> str:
    """The staged records of a type that passed staging and are not control records."""
    return f"FROM {TABLE} WHERE rtype = {q(resource_type)} AND _ok AND NOT _skip"


def evaluate(b: Batch, name: str) -> str:
    """Create ``v_<name>`` from the shipped view ``name``; returns the table's name."""
    view = omop_view(name)
    target = f"v_{name}"
    compiled, _ = choose(view, "auto")
    with b.step("views"):
        if compiled is not None:
            spec = quote(struct_schema.transform(compiled.schema))
            source = (
                f"(SELECT struct_update(json_transform(text, {spec}), "
                f"id := CAST(_record AS VARCHAR)) AS _p {_pending(view.resource)})"
            )
            rows = compiled.query(source)
        else:
            rows = _reference(b, name)
        b.con.execute(
            f"CREATE OR REPLACE TEMP TABLE {target} AS "
            f"SELECT * REPLACE (CAST(record AS BIGINT) AS record) FROM ({rows})"
        )
    return target


def _reference(b: Batch, name: str) -> str:
    """The reference path over the staged records (record number as id)."""
    view = omop_view(name)
    texts = b.con.execute(f"SELECT _record, text {_pending(view.resource)}").fetchall()

    def resources() -> list[dict[str, object]]:
        out = []
        for record, text in texts:
            resource = json.loads(text)
            resource["id"] = str(record)
            out.append(resource)
        return out

    batches = list(evaluate_batches(view, resources(), path="reference"))
    table = pa.Table.from_batches(batches, schema=view_schema(view))
    b.con.register("_reference_rows", table)
    b.con.execute(f"CREATE OR REPLACE TEMP TABLE _rows_{name} AS SELECT * FROM _reference_rows")
    b.con.unregister("_reference_rows")
    return f"SELECT * FROM _rows_{name}"


def evaluate_all(b: Batch) -> dict[str, str]:
    """Every shipped view (empty for types the batch lacks): name -> temp table.

    Empty tables with the views' columns spare the mapping SQL any special case, as
    flows get an empty ``p_<layout>`` for a layout a batch lacks.
    """
    return {name: evaluate(b, name) for name in OMOP_VIEWS}


def drop_views(b: Batch, tables: dict[str, str]) -> None:
    for name, table in tables.items():
        b.con.execute(f"DROP TABLE IF EXISTS {table}")
        b.con.execute(f"DROP TABLE IF EXISTS _rows_{name}")
