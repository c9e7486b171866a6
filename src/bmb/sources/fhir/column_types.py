"""Column types: what FHIR type a column holds, and how it is stored in Arrow and SQL.

The spec fixes a column's FHIR type (declared ``type``, else inferred from the path)
and leaves the physical type to the runner. BMB's choice (ADR 0011): booleans as
``bool``, every integer type as ``int64``, ``decimal`` as ``float64``, and everything
else as UTF-8 text. Dates, date-times, instants and times stay ISO 8601 text because
FHIR allows partial dates (``1970-06``) and timezone offsets that a timestamp column
would lose; the pipeline parses them knowing their precision. Non-primitive values
(a whole ``HumanName``) become JSON text. ``collection: true`` columns are lists.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pyarrow as pa

from bmb.sources.fhir.errors import FhirPathError
from bmb.sources.fhir.fhirpath import ast
from bmb.sources.fhir.model import INEXACT_STRING, FhirModel, r4
from bmb.sources.fhir.viewdef import Column, Select, ViewDefinition

_BOOLEAN = {"boolean"}
_INTEGER = {"integer", "positiveInt", "unsignedInt", "integer64"}
_DECIMAL = {"decimal"}

#: Return types of functions whose result type does not depend on their input.
_FUNCTION_TYPES = {
    "exists": "boolean", "empty": "boolean", "not": "boolean", "all": "boolean",
    "allTrue": "boolean", "anyTrue": "boolean", "allFalse": "boolean", "anyFalse": "boolean",
    "isDistinct": "boolean", "subsetOf": "boolean", "supersetOf": "boolean",
    "hasValue": "boolean", "startsWith": "boolean", "endsWith": "boolean",
    "contains": "boolean", "matches": "boolean", "is": "boolean",
    "count": "integer", "length": "integer", "indexOf": "integer",
    "join": "string", "getResourceKey": "id", "getReferenceKey": "id", "upper": "string",
    "lower": "string", "substring": "string", "replace": "string", "trim": "string",
    "replaceMatches": "string", "toString": "string", "toInteger": "integer",
    "toDecimal": "decimal", "toBoolean": "boolean", "toDate": "date",
    "toDateTime": "dateTime", "toTime": "time",
}  # fmt: skip
_PASS_THROUGH = {"first", "last", "tail", "skip", "take", "single", "where", "distinct",
                 "trace", "lowBoundary", "highBoundary", "intersect", "exclude"}  # fmt: skip


def storage(fhir_type: str | None) -> str:
    """The storage class of a FHIR type: ``bool``, ``int``, ``float`` or ``text``."""
    if fhir_type in _BOOLEAN:
        return "bool"
    if fhir_type in _INTEGER:
        return "int"
    if fhir_type in _DECIMAL:
        return "float"
    return "text"


_ARROW = {"bool": pa.bool_(), "int": pa.int64(), "float": pa.float64(), "text": pa.string()}
_SQL = {"bool": "BOOLEAN", "int": "BIGINT", "float": "DOUBLE", "text": "VARCHAR"}


def arrow_type(fhir_type: str | None, collection: bool) -> pa.DataType:
    """The Arrow type of a column holding ``fhir_type`` values."""
    base = _ARROW[storage(fhir_type)]
    return pa.list_(base) if collection else base


def sql_type(fhir_type: str | None, collection: bool = False) -> str:
    """The DuckDB type of a column holding ``fhir_type`` values."""
    base = _SQL[storage(fhir_type)]
    return f"{base}[]" if collection else base


def infer(expr: ast.Expr, focus: str | None, model: FhirModel | None = None) -> str | None:
    """The FHIR type a path returns from a focus of type ``focus``, when it can be told."""
    model = model or r4()
    if isinstance(expr, ast.Literal):
        value = expr.value
        if isinstance(value, bool):
            return "boolean"
        if isinstance(value, int):
            return "integer"
        if isinstance(value, Decimal):
            return "decimal"
        if isinstance(value, str):
            return "string"
        return None
    if isinstance(expr, ast.External):
        return "integer" if expr.name == "rowIndex" else None
    if isinstance(expr, ast.Variable):
        return focus if expr.name == "this" else "integer"
    if isinstance(expr, ast.Member):
        parent = focus if expr.target is None else infer(expr.target, focus, model)
        if expr.target is None and expr.name == focus:
            return focus
        info = model.element(parent, expr.name) if parent else None
        if info is None or info.choice:
            return None
        return "string" if info.types[0] == INEXACT_STRING else info.types[0]
    if isinstance(expr, ast.Index):
        return infer(expr.target, focus, model)
    if isinstance(expr, ast.Call):
        if expr.name in _FUNCTION_TYPES:
            return _FUNCTION_TYPES[expr.name]
        if expr.name in ("ofType", "as") and expr.args:
            return ast.type_name_of(expr.args[0])
        if expr.name in _PASS_THROUGH and expr.target is not None:
            return infer(expr.target, focus, model)
        if expr.name == "extension":
            return "Extension"
        return None
    if isinstance(expr, ast.Binary):
        if expr.op in (
            "=",
            "!=",
            "~",
            "!~",
            "<",
            ">",
            "<=",
            ">=",
            "and",
            "or",
            "xor",
            "implies",
            "in",
            "contains",
        ):
            return "boolean"
        if expr.op == "&":
            return "string"
        left, right = infer(expr.left, focus, model), infer(expr.right, focus, model)
        if expr.op == "/":
            return "decimal"
        if left in _INTEGER and right in _INTEGER and expr.op in ("+", "-", "*", "div", "mod"):
            return "integer"
        if {storage(left), storage(right)} <= {"int", "float"} and left and right:
            return "decimal"
        return left if left == right else None
    if isinstance(expr, ast.Unary):
        return infer(expr.operand, focus, model)
    if isinstance(expr, ast.TypeTest):
        return "boolean" if expr.op == "is" else expr.type_name
    return None


def column_fhir_types(view: ViewDefinition) -> dict[str, str | None]:
    """Each output column's FHIR type: declared, else inferred from its path."""
    out: dict[str, str | None] = {}

    def visit(sel: Select, focus: str | None) -> None:
        if sel.iterate == "repeat":
            focus = None
        elif sel.iterate is not None:
            focus = infer(sel.exprs[0], focus)
        for col in sel.columns:
            out[col.name] = col.type or infer(col.expr, focus)
        for child in sel.selects:
            visit(child, focus)
        for branch in sel.union_all:
            visit(branch, focus)

    visit(view.root, view.resource)
    return out


def schema(view: ViewDefinition) -> pa.Schema:
    """The Arrow schema of a view's output."""
    types = column_fhir_types(view)
    return pa.schema(
        [pa.field(c.name, arrow_type(types[c.name], c.collection)) for c in view.columns]
    )


def _convert(value: Any, kind: str, col: Column) -> Any:
    if value is None:
        return None
    if kind == "text":
        if isinstance(value, str):
            return value
        if isinstance(value, dict | list):
            return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)
    if kind == "bool" and isinstance(value, bool):
        return value
    if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind == "float" and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise FhirPathError(
        f"column {col.name!r} ({col.location}) is typed {col.type or kind} "
        f"but its path gave {value!r}"
    )


def to_batch(
    view: ViewDefinition, rows: Sequence[tuple[Any, ...]], target: pa.Schema
) -> pa.RecordBatch:
    """Rows (tuples in column order) as an Arrow record batch of the view's schema."""
    arrays = []
    for i, (col, field) in enumerate(zip(view.columns, target, strict=True)):
        typ = field.type
        kind = storage_of_arrow(typ.value_type if pa.types.is_list(typ) else typ)
        if col.collection:
            values = [
                None if r[i] is None else [_convert(v, kind, col) for v in r[i]] for r in rows
            ]
        else:
            values = [_convert(r[i], kind, col) for r in rows]
        arrays.append(pa.array(values, type=typ))
    return pa.RecordBatch.from_arrays(arrays, schema=target)


def storage_of_arrow(typ: pa.DataType) -> str:
    """The storage class of an Arrow type this module produces."""
    for kind, arrow in _ARROW.items():
        if typ == arrow:
            return kind
    return "text"
