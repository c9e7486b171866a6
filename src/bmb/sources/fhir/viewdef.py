"""The ViewDefinition: parsed once, validated whole, then frozen.

Every rule of the SQL-on-FHIR spec that can be checked before seeing data is checked
here, and each failure names the element at fault as a path inside the view
(``select[1].unionAll[0].column[2].name``): required ``resource`` and ``select``,
FHIRPath that parses, known functions and constants, constants with exactly one
``value[x]``, unique column names, ``unionAll`` branches with the same columns in the
same order. Parsed expressions travel with the view, so no path is parsed twice.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, fields
from decimal import Decimal
from pathlib import Path
from typing import Any

from bmb.sources.fhir.errors import FhirPathSyntaxError, ViewDefinitionError
from bmb.sources.fhir.fhirpath import ast, parse
from bmb.sources.fhir.fhirpath.evaluator import FUNCTION_TABLE
from bmb.sources.fhir.fhirpath.temporal import FPDateTime, FPTime

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_RESOURCE = re.compile(r"^[A-Z][A-Za-z]+$")
_SELECT_KEYS = {"column", "select", "forEach", "forEachOrNull", "repeat", "unionAll"}
_ENVIRONMENT = {"resource", "rootResource", "context", "ucum", "sct", "loinc", "rowIndex"}
_STRING_CONSTANTS = {
    "String",
    "Code",
    "Id",
    "Uri",
    "Url",
    "Canonical",
    "Oid",
    "Uuid",
    "Base64Binary",
    "Markdown",
}
_INTEGER_CONSTANTS = {"Integer", "PositiveInt", "UnsignedInt", "Integer64"}
_EXPR_TYPES = (
    ast.Literal,
    ast.Empty,
    ast.Member,
    ast.Call,
    ast.Index,
    ast.Variable,
    ast.External,
    ast.Unary,
    ast.Binary,
    ast.TypeTest,
)


@dataclass(frozen=True, slots=True)
class Column:
    """One output column: a FHIRPath ``path``, its FHIR ``type``, single or collection."""

    name: str
    path: str
    expr: ast.Expr
    type: str | None
    collection: bool
    location: str
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Select:
    """A selection structure: columns, nested selects, a ``unionAll``, an iteration."""

    columns: tuple[Column, ...]
    selects: tuple[Select, ...]
    union_all: tuple[Select, ...]
    iterate: str | None  # "forEach", "forEachOrNull", "repeat" or None
    paths: tuple[str, ...]  # the forEach/forEachOrNull path, or the repeat paths
    exprs: tuple[ast.Expr, ...]
    location: str

    def output_columns(self) -> list[Column]:
        """The columns this structure produces, in the spec's order."""
        out = list(self.columns)
        for sel in self.selects:
            out.extend(sel.output_columns())
        if self.union_all:
            out.extend(self.union_all[0].output_columns())
        return out

    def walk(self) -> Iterator[Select]:
        """This structure and every structure nested in it."""
        yield self
        for child in (*self.selects, *self.union_all):
            yield from child.walk()


@dataclass(frozen=True, slots=True)
class Constant:
    """A named value usable as ``%name`` in every path of the view."""

    name: str
    value: object
    fhir_type: str


@dataclass(frozen=True, slots=True)
class Where:
    """A filter: resources for which ``path`` is not true produce no rows."""

    path: str
    expr: ast.Expr
    location: str


@dataclass(frozen=True, slots=True)
class ViewDefinition:
    """A validated ViewDefinition: the resource type, the root selection, filters."""

    resource: str
    name: str | None
    root: Select
    where: tuple[Where, ...]
    constants: tuple[Constant, ...]
    columns: tuple[Column, ...]
    source: dict[str, Any]

    def constant_values(self) -> dict[str, list[object]]:
        """Constants as FHIRPath collections, keyed by name."""
        return {c.name: [c.value] for c in self.constants}

    def expressions(self) -> Iterator[tuple[str, ast.Expr]]:
        """Every parsed expression of the view with its location."""
        for sel in self.root.walk():
            for i, path_expr in enumerate(sel.exprs):
                step = f"repeat[{i}]" if sel.iterate == "repeat" else str(sel.iterate)
                yield f"{sel.location}.{step}", path_expr
            for col in sel.columns:
                yield (f"{col.location}.path", col.expr)
        for w in self.where:
            yield (f"{w.location}.path", w.expr)


class _Builder:
    def __init__(self, label: str) -> None:
        self.label = label

    def fail(self, where: str, message: str) -> ViewDefinitionError:
        at = f" at {where}" if where else ""
        return ViewDefinitionError(f"ViewDefinition {self.label}{at}: {message}")

    def expr(self, text: object, where: str) -> ast.Expr:
        if not isinstance(text, str):
            raise self.fail(where, f"must be a FHIRPath string, not {json.dumps(text)}")
        try:
            return parse(text)
        except FhirPathSyntaxError as exc:
            raise self.fail(where, exc.message) from None

    def column(self, raw: object, where: str) -> Column:
        if not isinstance(raw, dict):
            raise self.fail(where, "a column must be an object with name and path")
        name = raw.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            raise self.fail(
                f"{where}.name",
                f"{name!r} is not a valid column name (a letter, then letters, digits or _)",
            )
        if "path" not in raw:
            raise self.fail(where, f"column {name!r} has no path")
        typ = raw.get("type")
        if typ is not None and not isinstance(typ, str):
            raise self.fail(f"{where}.type", "must be a FHIR type name")
        collection = raw.get("collection", False)
        if not isinstance(collection, bool):
            raise self.fail(f"{where}.collection", "must be true or false")
        return Column(
            name,
            raw["path"],
            self.expr(raw["path"], f"{where}.path"),
            typ,
            collection,
            where,
            raw.get("description"),
        )

    def select(self, raw: object, where: str) -> Select:
        if not isinstance(raw, dict):
            raise self.fail(where, "a select must be an object")
        unknown = set(raw) - _SELECT_KEYS
        if unknown:
            raise self.fail(where, f"unknown element(s) {sorted(unknown)}")
        kinds = [k for k in ("forEach", "forEachOrNull", "repeat") if k in raw]
        if len(kinds) > 1:
            raise self.fail(where, f"use only one of {kinds}")
        iterate = kinds[0] if kinds else None
        paths: tuple[str, ...] = ()
        exprs: tuple[ast.Expr, ...] = ()
        if iterate == "repeat":
            repeat = raw["repeat"]
            if not isinstance(repeat, list) or not repeat:
                raise self.fail(f"{where}.repeat", "must be a non-empty list of FHIRPath strings")
            exprs = tuple(self.expr(p, f"{where}.repeat[{i}]") for i, p in enumerate(repeat))
            paths = tuple(repeat)
        elif iterate is not None:
            exprs = (self.expr(raw[iterate], f"{where}.{iterate}"),)
            paths = (raw[iterate],)
        return Select(
            tuple(
                self.column(c, f"{where}.column[{i}]")
                for i, c in enumerate(self.list(raw, "column", where))
            ),
            tuple(
                self.select(s, f"{where}.select[{i}]")
                for i, s in enumerate(self.list(raw, "select", where))
            ),
            tuple(
                self.select(s, f"{where}.unionAll[{i}]")
                for i, s in enumerate(self.list(raw, "unionAll", where))
            ),
            iterate,
            paths,
            exprs,
            where,
        )

    def list(self, raw: dict[str, Any], key: str, where: str) -> list[Any]:
        value = raw.get(key, [])
        if not isinstance(value, list):
            raise self.fail(f"{where}.{key}", "must be a list")
        return value

    def constant(self, raw: object, where: str) -> Constant:
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
            raise self.fail(where, "a constant needs a name")
        name = raw["name"]
        if not _NAME.match(name):
            raise self.fail(f"{where}.name", f"{name!r} is not a valid constant name")
        values = [k for k in raw if k.startswith("value")]
        if len(values) != 1:
            raise self.fail(where, f"constant {name!r} needs exactly one value[x], has {values}")
        key = values[0]
        kind, value = key[5:], raw[key]
        fhir_type = kind[0].lower() + kind[1:] if kind else ""
        converted: object
        is_int = isinstance(value, int) and not isinstance(value, bool)
        if (
            (kind in _STRING_CONSTANTS and isinstance(value, str))
            or (kind in _INTEGER_CONSTANTS and is_int)
            or (kind == "Boolean" and isinstance(value, bool))
        ):
            converted = value
        elif (
            kind == "Decimal"
            and isinstance(value, int | float | Decimal)
            and not isinstance(value, bool)
        ):
            converted = Decimal(str(value))
        elif kind in ("Date", "DateTime", "Instant") and isinstance(value, str):
            converted = FPDateTime.parse(value, date_only=kind == "Date")
        elif kind == "Time" and isinstance(value, str):
            converted = FPTime.parse(value)
        else:
            converted = None
        if converted is None:
            raise self.fail(
                f"{where}.{key}",
                f"{json.dumps(value, default=str)} is not a valid {fhir_type} constant",
            )
        return Constant(name, converted, fhir_type)


def _check_names(builder: _Builder, sel: Select, taken: list[str]) -> list[str]:
    """The spec's ValidateColumns: unique names, consistent unionAll branches."""
    names = list(taken)
    for col in sel.columns:
        if col.name in names:
            raise builder.fail(f"{col.location}.name", f"column {col.name!r} is already defined")
        names.append(col.name)
    for child in sel.selects:
        names = _check_names(builder, child, names)
    if sel.union_all:
        first = [c.name for c in sel.union_all[0].output_columns()]
        first_types = [c.type for c in sel.union_all[0].output_columns()]
        for branch in sel.union_all:
            cols = branch.output_columns()
            _check_names(builder, branch, names)
            if [c.name for c in cols] != first:
                raise builder.fail(
                    branch.location,
                    f"unionAll branches must have the same "
                    f"columns in the same order: {[c.name for c in cols]} "
                    f"differs from {first}",
                )
            for col, typ in zip(cols, first_types, strict=True):
                if col.type and typ and col.type != typ:
                    raise builder.fail(
                        f"{col.location}.type",
                        f"unionAll column {col.name!r} "
                        f"is {col.type} here but {typ} in the first branch",
                    )
        for name in first:
            if name in names:
                raise builder.fail(sel.location, f"column {name!r} is already defined")
            names.append(name)
    return names


def _references(expr: ast.Expr) -> Iterator[ast.Expr]:
    """Every node of a syntax tree."""
    yield expr
    for field in fields(expr):
        value = getattr(expr, field.name)
        children = value if isinstance(value, tuple) else (value,)
        for child in children:
            if isinstance(child, _EXPR_TYPES):
                yield from _references(child)


def _check_expressions(builder: _Builder, view: ViewDefinition) -> None:
    known = {c.name for c in view.constants} | _ENVIRONMENT
    for location, expr in view.expressions():
        for node in _references(expr):
            if isinstance(node, ast.External) and node.name not in known:
                raise builder.fail(location, f"%{node.name} is not a defined constant")
            if isinstance(node, ast.Call) and node.name not in FUNCTION_TABLE:
                raise builder.fail(location, f"unknown FHIRPath function {node.name}()")


def parse_view(raw: object, label: str = "<view>") -> ViewDefinition:
    """Validate a ViewDefinition (JSON already parsed) and return it frozen."""
    builder = _Builder(label)
    if not isinstance(raw, dict):
        raise builder.fail("", "must be a JSON object")
    resource = raw.get("resource")
    if not isinstance(resource, str) or not _RESOURCE.match(resource):
        raise builder.fail(
            "resource",
            'a ViewDefinition needs the resource type it reads (e.g. "resource": "Patient")',
        )
    selects = builder.list(raw, "select", "")
    if not selects:
        raise builder.fail("select", "a ViewDefinition needs at least one select")
    constants = tuple(
        builder.constant(c, f"constant[{i}]")
        for i, c in enumerate(builder.list(raw, "constant", ""))
    )
    if len({c.name for c in constants}) != len(constants):
        raise builder.fail("constant", "constant names must be unique")
    root = Select(
        (),
        tuple(builder.select(s, f"select[{i}]") for i, s in enumerate(selects)),
        (),
        None,
        (),
        (),
        "",
    )
    where = []
    for i, w in enumerate(builder.list(raw, "where", "")):
        if not isinstance(w, dict) or "path" not in w:
            raise builder.fail(f"where[{i}]", "a where needs a path")
        where.append(Where(w["path"], builder.expr(w["path"], f"where[{i}].path"), f"where[{i}]"))
    _check_names(builder, root, [])
    view = ViewDefinition(
        resource, raw.get("name"), root, tuple(where), constants, tuple(root.output_columns()), raw
    )
    _check_expressions(builder, view)
    return view


def load_view(path: Path) -> ViewDefinition:
    """Read and validate a ViewDefinition JSON file."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    except FileNotFoundError:
        raise ViewDefinitionError(f"ViewDefinition {path}: file not found") from None
    except json.JSONDecodeError as exc:
        raise ViewDefinitionError(
            f"ViewDefinition {path}: not valid JSON (line {exc.lineno}, column {exc.colno}: "
            f"{exc.msg})"
        ) from None
    return parse_view(raw, str(path))
