"""FHIRPath to DuckDB SQL: one expression at a time, or a clear refusal.

A compiled expression (:class:`Sql`) is either one item (SQL NULL meaning empty) or a
SQL list (the collection), of native structs (complex types, read as the schema in
:mod:`.schema` says) or of typed values (VARCHAR, BOOLEAN, BIGINT, DOUBLE), with the
FHIR type of its items. Navigation uses the FHIR model to know, before seeing data,
which steps repeat: ``name.given`` is ``flatten(list_transform(name, ...given))``.
Whatever cannot be compiled with exactly the reference semantics raises
:class:`Declined` naming the construct; the view then runs on the reference path
(ADR 0011).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from itertools import count

from bmb.sources.fhir.fhirpath import ast
from bmb.sources.fhir.fhirpath.temporal import FPDateTime
from bmb.sources.fhir.keys import LITERAL_REFERENCE, UUID_REFERENCE
from bmb.sources.fhir.model import INEXACT_STRING, STRING_FAMILY, FhirModel, r4
from bmb.sources.fhir.sql.schema import Field

_TEMPORAL = {"date", "dateTime", "instant", "time"}
_COMPARISONS = ("=", "!=", "<", ">", "<=", ">=")
_SWAPPED = {"=": "=", "!=": "!=", "<": ">", ">": "<", "<=": ">=", ">=": "<="}
_DATE_PATTERN = r"\d{4}(-\d{2}(-\d{2})?)?"
_NUMERIC = {"integer", "positiveInt", "unsignedInt", "integer64", "decimal"}


class Declined(Exception):  # noqa: N818 - a verdict on a view, not a failure
    """The compiler cannot express this construct exactly; the message says which."""


@dataclass(frozen=True, slots=True)
class Sql:
    """A compiled expression: SQL text, list or single, FHIR item type, schema node."""

    sql: str
    many: bool
    type: str | None
    node: Field | None = None  # set when the items are native structs read by the schema
    # For a list built by mapping steps over a base list: (base, lambda variable, item
    # expression), so that ``a.b.c`` maps the base once instead of once per step.
    chain: tuple[str, str, str] | None = None


def quote(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def scalar_kind(fhir_type: str | None) -> str | None:
    """The SQL type a primitive FHIR type is compared in, None for complex types."""
    if fhir_type is None:
        return None
    if fhir_type in ("boolean",):
        return "BOOLEAN"
    if fhir_type in ("integer", "positiveInt", "unsignedInt", "integer64"):
        return "BIGINT"
    if fhir_type == "decimal":
        return "DOUBLE"
    if fhir_type in STRING_FAMILY or fhir_type in _TEMPORAL or fhir_type == INEXACT_STRING:
        return "VARCHAR"
    return None


@dataclass
class Scope:
    """Where an expression is compiled: its focus, ``%rowIndex``, constants, the root."""

    focus: Sql
    row_index: str
    constants: dict[str, object]
    root: str
    resource_type: str
    names: count[int]

    def label(self) -> str:
        """SQL naming the resource being read, for error messages."""
        return f'({self.root}."resourceType" || \'/\' || {self.root}."id")'

    def with_focus(self, focus: Sql, row_index: str | None = None) -> Scope:
        """The same scope around another focus."""
        index = self.row_index if row_index is None else row_index
        return Scope(focus, index, self.constants, self.root, self.resource_type, self.names)


class ExprCompiler:
    """Compiles FHIRPath syntax trees into DuckDB expressions."""

    def __init__(self, model: FhirModel | None = None) -> None:
        self.model = model or r4()

    def compile(self, expr: ast.Expr, scope: Scope) -> Sql:
        """Compile ``expr`` evaluated on ``scope.focus``."""
        if isinstance(expr, ast.Literal):
            return self._literal(expr.value)
        if isinstance(expr, ast.Empty):
            return Sql("NULL", False, None)
        if isinstance(expr, ast.Variable) and expr.name == "this":
            return scope.focus
        if isinstance(expr, ast.External):
            return self._external(expr.name, scope)
        if isinstance(expr, ast.Member):
            return self._member(expr, scope)
        if isinstance(expr, ast.Index):
            return self._index(expr, scope)
        if isinstance(expr, ast.Call):
            return self._call(expr, scope)
        if isinstance(expr, ast.Binary):
            return self._binary(expr, scope)
        if isinstance(expr, ast.TypeTest) and expr.op == "is":
            from bmb.sources.fhir.sql.functions import compile_is

            return compile_is(self, expr.operand, expr.type_name, scope)
        if isinstance(expr, ast.TypeTest) and expr.op == "as":
            # ``x as T`` is ``x.ofType(T)`` on a single item (older views write it so).
            of_type = ast.Call(expr.operand, "ofType", (ast.Member(None, expr.type_name),))
            return self.single(self.compile(of_type, scope), scope, "as")
        if isinstance(expr, ast.Unary) and expr.op == "-":
            value = self.typed(self.single(self.compile(expr.operand, scope), scope))
            if scalar_kind(value.type) not in ("BIGINT", "DOUBLE"):
                raise Declined("unary minus on a non-number")
            return replace(value, sql=f"(-{value.sql})")
        raise Declined(f"FHIRPath construct {type(expr).__name__}")

    # -- terms ------------------------------------------------------------------------
    def _literal(self, value: object) -> Sql:
        if isinstance(value, bool):
            return Sql("TRUE" if value else "FALSE", False, "boolean")
        if isinstance(value, int):
            return Sql(f"CAST({value} AS BIGINT)", False, "integer")
        if isinstance(value, Decimal):
            return Sql(f"CAST({value} AS DOUBLE)", False, "decimal")
        if isinstance(value, str):
            return Sql(quote(value), False, "string")
        kind = type(value).__name__.removeprefix("FP")
        raise Declined(f"a {kind} literal or constant (date/time precision rules)")

    def _external(self, name: str, scope: Scope) -> Sql:
        if name == "rowIndex":
            return Sql(scope.row_index, False, "integer")
        if name in ("resource", "rootResource", "context"):
            raise Declined(f"%{name} (the whole resource)")
        if name in scope.constants:
            return self._literal(scope.constants[name])
        raise Declined(f"%{name}")

    def _member(self, expr: ast.Member, scope: Scope) -> Sql:
        parent = scope.focus if expr.target is None else self.compile(expr.target, scope)
        if expr.target is None and expr.name == parent.type:
            return parent  # Patient.name: the type name at the root selects the resource
        if parent.node is None or parent.type is None:
            raise Declined(f"navigation to {expr.name!r} from a value of unknown structure")
        info = self.model.element(parent.type, expr.name)
        if info is None:
            raise Declined(f"{parent.type}.{expr.name} is not in the FHIR R4 model")
        if info.choice:
            raise Declined(f"choice element {parent.type}.{expr.name}[x] without ofType()")
        if info.types[0] in ("Resource", "BackboneElement", "Element"):
            raise Declined(f"{parent.type}.{expr.name} holds resources of any type")
        return self.navigate(parent, info.name, info.types[0], info.is_list, scope)

    def navigate(self, parent: Sql, key: str, fhir_type: str, is_list: bool, scope: Scope) -> Sql:
        """The children called ``key`` of every item of ``parent`` (a native struct)."""
        if parent.node is None:
            raise Declined(f"navigation to {key!r} from a value of unknown structure")
        child = parent.node.child(key, fhir_type, is_list)
        native = child if scalar_kind(fhir_type) is None else None
        many = is_list or parent.many
        field = f'"{key}"'
        if not parent.many:
            access = f"{parent.sql}.{field}"
            sql = f"coalesce({access}, [])" if is_list else access
        else:
            if parent.chain is not None:
                base, var, item = parent.chain
            else:
                var = self.var(scope)
                base, item = parent.sql, var
            step = f"{item}.{field}"
            if is_list:
                children = f"coalesce({step}, [])"
                sql = f"flatten(list_transform({base}, lambda {var}: {children}))"
            else:
                mapped = f"list_transform({base}, lambda {var}: {step})"
                sql = f"list_filter({mapped}, lambda {var}: {var} IS NOT NULL)"
                return Sql(sql, many, fhir_type, native, (base, var, step))
        if is_list and native is None:
            var = self.var(scope)
            sql = f"list_filter({sql}, lambda {var}: {var} IS NOT NULL)"
        return Sql(sql, many, fhir_type, native)

    def _index(self, expr: ast.Index, scope: Scope) -> Sql:
        target = self.compile(expr.target, scope)
        index = self.compile(expr.index, scope)
        if index.type != "integer":
            raise Declined("an index that is not an integer")
        if not target.many:
            return replace(
                target, sql=f"(CASE WHEN {index.sql} = 0 THEN {target.sql} END)", chain=None
            )
        return Sql(f"{target.sql}[{index.sql} + 1]", False, target.type, node=target.node)

    # -- conversions ------------------------------------------------------------------
    def var(self, scope: Scope) -> str:
        """A fresh lambda variable name."""
        return f"_x{next(scope.names)}"

    def typed(self, value: Sql) -> Sql:
        """Items as typed SQL values: primitives already are; a whole struct is declined."""
        if value.node is not None or scalar_kind(value.type) is None:
            raise Declined(
                f"a whole {value.type or 'value of unknown type'} where a primitive is needed"
            )
        return value

    def single(self, value: Sql, scope: Scope, what: str = "an operator", hint: str = "") -> Sql:
        """The one item an operator needs; more than one is an error at run time."""
        if not value.many:
            return value
        message = f"{quote(f'{what} expects a single item, got several in ')} || {scope.label()}"
        if hint:
            message += f" || {quote('; ' + hint)}"
        sql = f"(CASE WHEN len({value.sql}) > 1 THEN error({message}) ELSE {value.sql}[1] END)"
        return Sql(sql, False, value.type, node=value.node)

    def as_list(self, value: Sql) -> Sql:
        """Any expression as a SQL list (a single item becomes a list of zero or one)."""
        if value.many:
            return value
        sql = f"list_filter([{value.sql}], lambda _e: _e IS NOT NULL)"
        return Sql(sql, True, value.type, node=value.node)

    def boolean(self, value: Sql, scope: Scope, what: str) -> str:
        """A boolean condition from a compiled expression (NULL is unknown)."""
        value = self.typed(self.single(value, scope, what))
        if value.type != "boolean":
            raise Declined(f"{what} on a {value.type or 'value of unknown type'}")
        return value.sql

    # -- functions and operators --------------------------------------------------------
    def _call(self, expr: ast.Call, scope: Scope) -> Sql:
        from bmb.sources.fhir.sql.functions import compile_call

        return compile_call(self, expr, scope)

    def _binary(self, expr: ast.Binary, scope: Scope) -> Sql:
        op = expr.op
        if op in ("and", "or", "xor", "implies"):
            p = self.boolean(self.compile(expr.left, scope), scope, op)
            q = self.boolean(self.compile(expr.right, scope), scope, op)
            sql = {
                "and": f"({p} AND {q})",
                "or": f"({p} OR {q})",
                "xor": f"({p} <> {q})",
                "implies": f"((NOT {p}) OR {q})",
            }[op]
            return Sql(sql, False, "boolean")
        if op in _COMPARISONS:
            dated = self._date_comparison(expr, scope)
            if dated is not None:
                return dated
        left = self.typed(self.compile(expr.left, scope))
        right = self.typed(self.compile(expr.right, scope))
        if op in ("=", "!="):
            return self._equality(op, left, right, scope)
        if op == "&":
            a = self.single(left, scope, "&")
            b = self.single(right, scope, "&")
            if not {scalar_kind(a.type), scalar_kind(b.type)} <= {"VARCHAR", None}:
                raise Declined("& on non-strings")
            return Sql(f"(coalesce({a.sql}, '') || coalesce({b.sql}, ''))", False, "string")
        a = self.single(left, scope, op)
        b = self.single(right, scope, op)
        ka, kb = scalar_kind(a.type), scalar_kind(b.type)
        if a.type in _TEMPORAL or b.type in _TEMPORAL:
            raise Declined(f"{op} on dates and times (precision rules)")
        if op in ("<", ">", "<=", ">="):
            if not ((ka == kb == "VARCHAR") or {ka, kb} <= {"BIGINT", "DOUBLE"}):
                raise Declined(f"{op} between {a.type} and {b.type}")
            return Sql(f"({a.sql} {op} {b.sql})", False, "boolean")
        if op == "+" and ka == kb == "VARCHAR":
            return Sql(f"({a.sql} || {b.sql})", False, "string")
        if op in ("+", "-", "*", "/") and {ka, kb} <= {"BIGINT", "DOUBLE"}:
            if op == "/":
                sql = (
                    f"(CASE WHEN {b.sql} = 0 THEN NULL ELSE CAST({a.sql} AS DOUBLE) / {b.sql} END)"
                )
                return Sql(sql, False, "decimal")
            typ = "integer" if ka == kb == "BIGINT" else "decimal"
            return Sql(f"({a.sql} {op} {b.sql})", False, typ)
        raise Declined(f"operator {op} on {a.type} and {b.type}")

    def _date_literal(self, expr: ast.Expr, scope: Scope) -> FPDateTime | None:
        value: object = expr.value if isinstance(expr, ast.Literal) else None
        if isinstance(expr, ast.External):
            value = scope.constants.get(expr.name)
        if isinstance(value, FPDateTime) and value.precision <= 3:
            return value
        return None

    def _date_comparison(self, expr: ast.Binary, scope: Scope) -> Sql | None:
        """A FHIR ``date`` element against a date literal, with FHIRPath's precision rule.

        Dates are ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``: compared on the characters both
        have; equal there but of different precision is unknown (NULL), as in FHIRPath.
        """
        op = expr.op
        literal = self._date_literal(expr.right, scope)
        data_expr = expr.left
        if literal is None:
            literal = self._date_literal(expr.left, scope)
            data_expr = expr.right
            op = _SWAPPED[op]
        if literal is None:
            return None
        data = self.compile(data_expr, scope)
        if data.type != "date" or data.many:
            return None
        text = quote(literal.iso())
        d = data.sql
        n = f"least(length({d}), {len(literal.iso())})"
        head, lit_head = f"substr({d}, 1, {n})", f"substr({text}, 1, {n})"
        on_difference = {"=": "FALSE", "!=": "TRUE"}.get(op, f"({head} {op} {lit_head})")
        not_a_date = {"=": "FALSE", "!=": "TRUE"}.get(op, "NULL")  # text is never a date
        sql = (
            f"(CASE WHEN NOT regexp_full_match({d}, {quote(_DATE_PATTERN)}) THEN {not_a_date} "
            f"WHEN {head} <> {lit_head} THEN {on_difference} "
            f"WHEN length({d}) <> {len(literal.iso())} THEN NULL "
            f"ELSE ({d} {'<>' if op == '!=' else op} {text}) END)"
        )
        return Sql(sql, False, "boolean")

    def _equality(self, op: str, left: Sql, right: Sql, scope: Scope) -> Sql:
        ka, kb = scalar_kind(left.type), scalar_kind(right.type)
        if left.type in _TEMPORAL or right.type in _TEMPORAL:
            raise Declined("= on dates and times (precision rules)")
        comparable = ka == kb or {ka, kb} <= {"BIGINT", "DOUBLE"}
        if ka is None or kb is None or not comparable:
            raise Declined(f"= between {left.type} and {right.type}")
        neg = "NOT " if op == "!=" else ""
        if not left.many and not right.many:
            return Sql(f"({neg}({left.sql} = {right.sql}))", False, "boolean")
        if ka != kb:
            raise Declined("collection = between numbers of different types")
        a, b = self.as_list(left).sql, self.as_list(right).sql
        sql = f"(CASE WHEN len({a}) = 0 OR len({b}) = 0 THEN NULL ELSE {neg}({a} = {b}) END)"
        return Sql(sql, False, "boolean")


def reference_key_sql(reference: str, expected: str | None) -> str:
    """SQL for getReferenceKey() on one Reference struct, matching :mod:`..keys` exactly."""
    ref = f'{reference}."reference"'
    literal = f"regexp_extract({ref}, {quote(LITERAL_REFERENCE)}, ['t', 'i'])"
    uuid_id = f"regexp_extract({ref}, {quote(UUID_REFERENCE)}, 1)"
    declared = f'{reference}."type"'
    # The common form, ``Type/id``, is recognised by an anchored match without captures;
    # only other forms (absolute URLs, versions, urn:uuid) pay for the full pattern.
    if expected is None:
        fast = f"regexp_full_match({ref}, {quote(_RELATIVE)})"
        return (
            f"(CASE WHEN {fast} THEN split_part({ref}, '/', 2) "
            f"WHEN {literal}.i <> '' THEN {literal}.i "
            f"WHEN {uuid_id} <> '' THEN {uuid_id} END)"
        )
    want = quote(expected)
    prefix = quote(expected + "/")
    rest = f"substr({ref}, {len(expected) + 2})"
    fast = f"(starts_with({ref}, {prefix}) AND regexp_full_match({rest}, {quote(_ID)}))"
    return (
        f"(CASE WHEN {fast} THEN {rest} "
        f"WHEN {literal}.i <> '' THEN (CASE WHEN {literal}.t = {want} THEN {literal}.i END) "
        f"WHEN {uuid_id} <> '' AND {declared} = {want} THEN {uuid_id} END)"
    )


_ID = "[A-Za-z0-9.-]{1,64}"
_RELATIVE = "[A-Z][A-Za-z]+/" + _ID
