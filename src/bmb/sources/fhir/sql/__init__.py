"""The compiled path: ViewDefinitions as DuckDB SQL over JSON resources.

:func:`compile_view` returns a :class:`CompiledView` or raises :class:`Declined`;
:func:`evaluate_compiled` runs one over resources held in memory (tests, small
inputs); :mod:`bmb.sources.fhir.runner` runs it over NDJSON files.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import duckdb
import pyarrow as pa

from bmb.sources.fhir.errors import FhirPathError
from bmb.sources.fhir.sql.expr import Declined
from bmb.sources.fhir.sql.view import CompiledView, compile_view
from bmb.sources.fhir.viewdef import ViewDefinition

__all__ = ["CompiledView", "Declined", "compile_view", "evaluate_compiled", "resources_table"]


def _default(value: object) -> object:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"not JSON: {value!r}")


def resources_table(resources: list[dict[str, Any]]) -> pa.Table:
    """Resources as an Arrow table with one JSON-text column ``r``."""
    texts = [json.dumps(r, default=_default, ensure_ascii=False) for r in resources]
    return pa.table({"r": pa.array(texts, type=pa.string())})


def run_compiled(compiled: CompiledView, table: pa.Table) -> pa.Table:
    """Run a compiled view over an Arrow table of resources (column ``r``)."""
    con = duckdb.connect()
    try:
        con.register("_bmb_resources", table)
        return con.sql(compiled.over_json("_bmb_resources")).to_arrow_table()
    except duckdb.Error as exc:
        raise FhirPathError(str(exc).split("\n")[0]) from None
    finally:
        con.close()


def evaluate_compiled(
    view: ViewDefinition, resources: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """All rows of ``view`` over in-memory resources, by the compiled path."""
    result = run_compiled(compile_view(view), resources_table(resources))
    rows: list[dict[str, Any]] = result.to_pylist()
    return rows
