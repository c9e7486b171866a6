"""The reference FHIRPath evaluator: collections in, collections out, as the spec says.

This is the path every result can be checked against: it walks the syntax tree over
resources parsed from JSON, keeps FHIRPath's collection semantics (navigation flattens,
an empty operand makes an empty result, ``and``/``or`` are three-valued) and follows
the FHIR model for choice elements and types. The compiled SQL path must agree with it
on the whole conformance suite (tests/sources/fhir/test_paths_agree.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, DivisionByZero, InvalidOperation
from typing import Any

from bmb.sources.fhir.errors import FhirPathError
from bmb.sources.fhir.fhirpath import ast
from bmb.sources.fhir.fhirpath.ast import Quantity
from bmb.sources.fhir.fhirpath.parser import parse
from bmb.sources.fhir.fhirpath.temporal import FPDateTime
from bmb.sources.fhir.fhirpath.values import (
    Item,
    Node,
    compare,
    equals,
    equivalent,
    system_type,
    to_system,
    wrap,
)
from bmb.sources.fhir.model import FhirModel, r4

_ENVIRONMENT = {
    "ucum": "http://unitsofmeasure.org",
    "sct": "http://snomed.info/sct",
    "loinc": "http://loinc.org",
}
_CALENDAR = {"year", "month", "week", "day", "hour", "minute", "second"}
_UCUM_CALENDAR = {
    "a": "year",
    "mo": "month",
    "wk": "week",
    "d": "day",
    "h": "hour",
    "min": "minute",
    "s": "second",
}


#: Function name -> implementation; filled by :mod:`.functions` when the package loads.
FUNCTION_TABLE: dict[str, Any] = {}


@dataclass(frozen=True, slots=True)
class Frame:
    """Where an expression is being evaluated: ``$this``, ``$index`` and ``$total``."""

    this: Item | None
    index: int | None = None
    total: Any = None


class Evaluation:
    """Evaluates expressions for one resource, with the view's constants in scope."""

    def __init__(
        self,
        resource: Node | None,
        constants: Mapping[str, Sequence[Item]] | None = None,
        model: FhirModel | None = None,
    ) -> None:
        self.resource = resource
        self.constants = constants or {}
        self.model = model or r4()

    # -- entry points -----------------------------------------------------------------
    def evaluate(self, expr: ast.Expr, context: Item) -> list[Item]:
        """Evaluate ``expr`` with ``context`` as its input and ``$this``."""
        return self.eval(expr, [context], Frame(context))

    def eval(self, expr: ast.Expr, focus: list[Item], frame: Frame) -> list[Item]:
        """Evaluate ``expr`` on the input collection ``focus``."""
        method = _DISPATCH[type(expr)]
        result: list[Item] = method(self, expr, focus, frame)
        return result

    def arg(self, expr: ast.Expr, frame: Frame) -> list[Item]:
        """A value argument of a function, evaluated where the function was called."""
        return self.eval(expr, [] if frame.this is None else [frame.this], frame)

    # -- terms ------------------------------------------------------------------------
    def _literal(self, expr: ast.Literal, focus: list[Item], frame: Frame) -> list[Item]:
        return [expr.value]

    def _empty(self, expr: ast.Empty, focus: list[Item], frame: Frame) -> list[Item]:
        return []

    def _variable(self, expr: ast.Variable, focus: list[Item], frame: Frame) -> list[Item]:
        if expr.name == "this":
            return [] if frame.this is None else [frame.this]
        if expr.name == "index":
            return [] if frame.index is None else [frame.index]
        total = frame.total
        return [] if total is None else (list(total) if isinstance(total, list) else [total])

    def _external(self, expr: ast.External, focus: list[Item], frame: Frame) -> list[Item]:
        name = expr.name
        if name in self.constants:
            return list(self.constants[name])
        if name in ("resource", "rootResource", "context"):
            return [] if self.resource is None else [self.resource]
        if name in _ENVIRONMENT:
            return [_ENVIRONMENT[name]]
        raise FhirPathError(f"FHIRPath: %{name} is not defined (no constant of that name)")

    def _member(self, expr: ast.Member, focus: list[Item], frame: Frame) -> list[Item]:
        items = focus if expr.target is None else self.eval(expr.target, focus, frame)
        name = expr.name
        if expr.target is None and name[:1].isupper():
            typed = [i for i in items if isinstance(i, Node) and self._node_is(i, name)]
            if typed or self.model.is_known_type(name):
                return typed
        out: list[Item] = []
        for item in items:
            if isinstance(item, Node) and isinstance(item.value, dict):
                self.children(item, name, out)
        return out

    def children(self, node: Node, name: str, out: list[Item]) -> None:
        """Append the children of ``node`` called ``name`` (choice elements resolved)."""
        value: dict[str, Any] = node.value
        info = self.model.element(node.type, name) if node.type else None
        if info is not None:
            if info.choice:
                for key, typ in info.json_keys():
                    if key in value:
                        _extend(out, value[key], typ)
                return
            if name in value:
                _extend(out, value[name], info.types[0])
            return
        if name in value:
            _extend(out, value[name], None)
            return
        # Unknown to the model: a choice element is recognised by its type suffix.
        for key, child in value.items():
            if key.startswith(name) and len(key) > len(name) and key[len(name)].isupper():
                suffix = key[len(name) :]
                typ = suffix[0].lower() + suffix[1:]
                if not self.model.is_known_type(typ):
                    typ = suffix
                if self.model.is_known_type(typ):
                    _extend(out, child, typ)

    def _index(self, expr: ast.Index, focus: list[Item], frame: Frame) -> list[Item]:
        items = self.eval(expr.target, focus, frame)
        index = self.arg(expr.index, frame)
        if len(index) != 1 or not isinstance(to_system(index[0]), int):
            raise FhirPathError("FHIRPath: an index must be a single integer")
        i: int = to_system(index[0])
        return [items[i]] if 0 <= i < len(items) else []

    def _call(self, expr: ast.Call, focus: list[Item], frame: Frame) -> list[Item]:
        items = focus if expr.target is None else self.eval(expr.target, focus, frame)
        fn = FUNCTION_TABLE.get(expr.name)
        if fn is None:
            raise FhirPathError(f"FHIRPath: unknown function {expr.name}()")
        result: list[Item] = fn(self, items, expr.args, frame)
        return result

    # -- operators --------------------------------------------------------------------
    def _unary(self, expr: ast.Unary, focus: list[Item], frame: Frame) -> list[Item]:
        items = self.eval(expr.operand, focus, frame)
        if expr.op == "+" or not items:
            return items
        value = to_system(single(items, "unary -"))
        if isinstance(value, Quantity):
            return [Quantity(-value.value, value.unit)]
        if isinstance(value, int | Decimal) and not isinstance(value, bool):
            return [-value]
        raise FhirPathError("FHIRPath: unary minus needs a number")

    def _type_test(self, expr: ast.TypeTest, focus: list[Item], frame: Frame) -> list[Item]:
        items = self.eval(expr.operand, focus, frame)
        if not items:
            return []
        item = single(items, expr.op)
        matches = self.is_type(item, expr.type_name)
        if expr.op == "is":
            return [matches]
        return [item] if matches else []

    def _binary(self, expr: ast.Binary, focus: list[Item], frame: Frame) -> list[Item]:
        op = expr.op
        if op in ("and", "or", "xor", "implies"):
            return _logic(op, self, expr, focus, frame)
        left = self.eval(expr.left, focus, frame)
        right = self.eval(expr.right, focus, frame)
        if op == "|":
            return union(left, right)
        if op in ("=", "!="):
            if not left or not right:
                return []
            if len(left) != len(right):
                return [op == "!="]
            results = [equals(a, b) for a, b in zip(left, right, strict=True)]
            if any(r is None for r in results):
                return []
            same = all(results)
            return [same if op == "=" else not same]
        if op in ("~", "!~"):
            same = _equivalent_collections(left, right)
            return [same if op == "~" else not same]
        if op in ("in", "contains"):
            element, collection = (left, right) if op == "in" else (right, left)
            if not element:
                return []
            item = single(element, op)
            return [any(equals(item, c) for c in collection)]
        if op == "&":
            return [_text(left) + _text(right)]
        if not left or not right:
            return []
        a = to_system(single(left, op))
        b = to_system(single(right, op))
        if op in ("<", ">", "<=", ">="):
            cmp = compare(a, b)
            if cmp is None:
                return []
            return [{"<": cmp < 0, ">": cmp > 0, "<=": cmp <= 0, ">=": cmp >= 0}[op]]
        return _arithmetic(op, a, b)

    # -- types ------------------------------------------------------------------------
    def _node_is(self, node: Node, type_name: str) -> bool:
        return node.type is not None and self.model.is_subtype(node.type, type_name)

    def is_type(self, item: Item, type_name: str) -> bool:
        """Whether ``item`` is of type ``type_name`` (``ofType``, ``is``, ``as``)."""
        if isinstance(item, Node):
            if item.type is None:
                guessed = system_type(to_system(item))
                return guessed is not None and self.model.is_subtype(guessed, type_name)
            return self.model.is_subtype(item.type, type_name)
        typ = system_type(item)
        if typ is None:
            return False
        return typ == type_name or typ.lower() == type_name.lower()


def _extend(out: list[Item], value: Any, typ: str | None) -> None:
    if isinstance(value, list):
        out.extend(wrap(v, typ) for v in value if v is not None)
    elif value is not None:
        out.append(wrap(value, typ))


def single(items: list[Item], what: str) -> Item:
    """The one item of a collection an operator needs; more than one is an error."""
    if len(items) != 1:
        raise FhirPathError(f"FHIRPath: {what} expects a single item, got {len(items)}")
    return items[0]


def to_bool(items: list[Item], what: str) -> bool | None:
    """Singleton evaluation to Boolean: empty is unknown, one non-Boolean item is true."""
    if not items:
        return None
    value = to_system(single(items, what))
    return value if isinstance(value, bool) else True


def union(left: list[Item], right: list[Item]) -> list[Item]:
    """``|``: both collections, without duplicates."""
    out: list[Item] = []
    for item in (*left, *right):
        if not any(equals(item, seen) for seen in out):
            out.append(item)
    return out


def _equivalent_collections(left: list[Item], right: list[Item]) -> bool:
    if len(left) != len(right):
        return False
    remaining = list(right)
    for item in left:
        for j, other in enumerate(remaining):
            if equivalent(item, other):
                del remaining[j]
                break
        else:
            return False
    return True


def _text(items: list[Item]) -> str:
    if not items:
        return ""
    value = to_system(single(items, "&"))
    return value if isinstance(value, str) else str(value)


def _logic(
    op: str, ev: Evaluation, expr: ast.Binary, focus: list[Item], frame: Frame
) -> list[Item]:
    a = to_bool(ev.eval(expr.left, focus, frame), op)
    if op == "and" and a is False:
        return [False]
    if op == "or" and a is True:
        return [True]
    if op == "implies" and a is False:
        return [True]
    b = to_bool(ev.eval(expr.right, focus, frame), op)
    if op == "and":
        result = False if b is False else (None if a is None or b is None else True)
    elif op == "or":
        result = True if b is True else (None if a is None or b is None else False)
    elif op == "xor":
        result = None if a is None or b is None else a != b
    else:  # implies, a is True or unknown
        result = True if b is True else (None if a is None or b is None else False)
    return [] if result is None else [result]


def _arithmetic(op: str, a: Item, b: Item) -> list[Item]:
    if op == "+" and isinstance(a, str) and isinstance(b, str):
        return [a + b]
    if isinstance(a, FPDateTime) and isinstance(b, Quantity) and op in ("+", "-"):
        unit = _UCUM_CALENDAR.get(b.unit, b.unit)
        if unit not in _CALENDAR or b.value != int(b.value):
            raise FhirPathError(f"FHIRPath: cannot add {b.unit!r} to a date")
        return [a.add(int(b.value) * (1 if op == "+" else -1), unit)]
    if isinstance(a, Quantity) and isinstance(b, Quantity) and op in ("+", "-"):
        if a.unit != b.unit:
            return []
        return [Quantity(a.value + b.value if op == "+" else a.value - b.value, a.unit)]
    numbers = (int, Decimal)
    if (
        not (isinstance(a, numbers) and isinstance(b, numbers))
        or isinstance(a, bool)
        or isinstance(b, bool)
    ):
        raise FhirPathError(f"FHIRPath: {op} is not defined for {a!r} and {b!r}")
    try:
        if op == "+":
            return [a + b]
        if op == "-":
            return [a - b]
        if op == "*":
            return [a * b]
        if op == "/":
            if b == 0:
                return []
            return [Decimal(a) / Decimal(b)]
        if op == "div":
            if b == 0:
                return []
            q = Decimal(a) / Decimal(b)
            return [int(q)]
        if op == "mod":
            if b == 0:
                return []
            return [a - b * int(Decimal(a) / Decimal(b))]
    except (InvalidOperation, DivisionByZero):
        return []
    raise FhirPathError(f"FHIRPath: unknown operator {op}")


_DISPATCH: dict[type, Any] = {
    ast.Literal: Evaluation._literal,
    ast.Empty: Evaluation._empty,
    ast.Variable: Evaluation._variable,
    ast.External: Evaluation._external,
    ast.Member: Evaluation._member,
    ast.Index: Evaluation._index,
    ast.Call: Evaluation._call,
    ast.Unary: Evaluation._unary,
    ast.TypeTest: Evaluation._type_test,
    ast.Binary: Evaluation._binary,
}


def evaluate(
    expression: str,
    resource: dict[str, Any],
    constants: Mapping[str, Sequence[Item]] | None = None,
) -> list[Item]:
    """Evaluate a FHIRPath expression on a resource (JSON as a dict): the convenience API."""
    node = wrap(resource, None)
    return Evaluation(node, constants).evaluate(parse(expression), node)
