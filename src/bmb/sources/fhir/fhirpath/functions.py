"""FHIRPath functions: the SQL-on-FHIR required set and the common rest of FHIRPath N1.

Each function takes the evaluation, its input collection, its unevaluated argument
trees and the calling frame, and returns a collection. Criteria arguments
(``where``, ``exists``, ``select``, ``all``, ``repeat``, ``iif``) are evaluated once
per input item with ``$this`` bound to it; value arguments are evaluated once.
String and math functions are in :mod:`.functions_text`.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from bmb.sources.fhir.errors import FhirPathError
from bmb.sources.fhir.fhirpath import ast
from bmb.sources.fhir.fhirpath.ast import Quantity, type_name_of
from bmb.sources.fhir.fhirpath.evaluator import (
    FUNCTION_TABLE,
    Evaluation,
    Frame,
    single,
    to_bool,
    union,
)
from bmb.sources.fhir.fhirpath.functions_text import TEXT_FUNCTIONS
from bmb.sources.fhir.fhirpath.temporal import FPDateTime, FPTime
from bmb.sources.fhir.fhirpath.values import Item, Node, equals, to_system, wrap
from bmb.sources.fhir.keys import reference_key, resource_key

Function = Callable[[Evaluation, list[Item], tuple[ast.Expr, ...], Frame], list[Item]]


def _arity(name: str, args: tuple[ast.Expr, ...], low: int, high: int) -> None:
    if not low <= len(args) <= high:
        want = str(low) if low == high else f"{low} to {high}"
        raise FhirPathError(f"FHIRPath: {name}() takes {want} argument(s), got {len(args)}")


def _per_item(ev: Evaluation, items: list[Item], crit: ast.Expr) -> list[list[Item]]:
    total = len(items)
    return [ev.eval(crit, [item], Frame(item, i, total)) for i, item in enumerate(items)]


def _type_arg(name: str, args: tuple[ast.Expr, ...]) -> str:
    _arity(name, args, 1, 1)
    type_name = type_name_of(args[0])
    if type_name is None:
        raise FhirPathError(f"FHIRPath: {name}() needs a type name, like {name}(Quantity)")
    return type_name


def _int_arg(ev: Evaluation, name: str, arg: ast.Expr, frame: Frame) -> int:
    value = ev.arg(arg, frame)
    number = to_system(single(value, name)) if value else None
    if not isinstance(number, int) or isinstance(number, bool):
        raise FhirPathError(f"FHIRPath: {name}() needs an integer argument")
    return number


# -- existence and filtering -----------------------------------------------------------
def _empty(ev: Evaluation, items: list[Item], args: tuple[ast.Expr, ...], fr: Frame) -> list[Item]:
    _arity("empty", args, 0, 0)
    return [not items]


def _exists(ev: Evaluation, items: list[Item], args: tuple[ast.Expr, ...], fr: Frame) -> list[Item]:
    _arity("exists", args, 0, 1)
    if args:
        items = _where(ev, items, args, fr)
    return [bool(items)]


def _where(ev: Evaluation, items: list[Item], args: tuple[ast.Expr, ...], fr: Frame) -> list[Item]:
    _arity("where", args, 1, 1)
    results = _per_item(ev, items, args[0])
    return [item for item, r in zip(items, results, strict=True) if to_bool(r, "where") is True]


def _all(ev: Evaluation, items: list[Item], args: tuple[ast.Expr, ...], fr: Frame) -> list[Item]:
    _arity("all", args, 1, 1)
    return [all(to_bool(r, "all") is True for r in _per_item(ev, items, args[0]))]


def _select(ev: Evaluation, items: list[Item], args: tuple[ast.Expr, ...], fr: Frame) -> list[Item]:
    _arity("select", args, 1, 1)
    return [x for r in _per_item(ev, items, args[0]) for x in r]


def _repeat(ev: Evaluation, items: list[Item], args: tuple[ast.Expr, ...], fr: Frame) -> list[Item]:
    _arity("repeat", args, 1, 1)
    out: list[Item] = []
    queue = list(items)
    while queue:
        item = queue.pop(0)
        for child in ev.eval(args[0], [item], Frame(item)):
            if not any(child is seen or equals(child, seen) for seen in out):
                out.append(child)
                queue.append(child)
    return out


def _bools(name: str, items: list[Item]) -> list[bool]:
    values = [to_system(i) for i in items]
    if not all(isinstance(v, bool) for v in values):
        raise FhirPathError(f"FHIRPath: {name}() needs Boolean items")
    return values


def _all_true(
    ev: Evaluation, items: list[Item], args: tuple[ast.Expr, ...], fr: Frame
) -> list[Item]:
    return [all(_bools("allTrue", items))]


def _any_true(
    ev: Evaluation, items: list[Item], args: tuple[ast.Expr, ...], fr: Frame
) -> list[Item]:
    return [any(_bools("anyTrue", items))]


def _all_false(
    ev: Evaluation, items: list[Item], args: tuple[ast.Expr, ...], fr: Frame
) -> list[Item]:
    return [not any(_bools("allFalse", items))]


def _any_false(
    ev: Evaluation, items: list[Item], args: tuple[ast.Expr, ...], fr: Frame
) -> list[Item]:
    return [not all(_bools("anyFalse", items))]


def _count(ev: Evaluation, items: list[Item], args: tuple[ast.Expr, ...], fr: Frame) -> list[Item]:
    return [len(items)]


def _distinct(
    ev: Evaluation, items: list[Item], args: tuple[ast.Expr, ...], fr: Frame
) -> list[Item]:
    return union(items, [])


def _is_distinct(
    ev: Evaluation, items: list[Item], args: tuple[ast.Expr, ...], fr: Frame
) -> list[Item]:
    return [len(union(items, [])) == len(items)]


def _subset_of(
    ev: Evaluation, items: list[Item], args: tuple[ast.Expr, ...], fr: Frame
) -> list[Item]:
    other = ev.arg(args[0], fr)
    return [all(any(equals(i, o) for o in other) for i in items)]


def _superset_of(
    ev: Evaluation, items: list[Item], args: tuple[ast.Expr, ...], fr: Frame
) -> list[Item]:
    other = ev.arg(args[0], fr)
    return [all(any(equals(o, i) for i in items) for o in other)]


# -- subsetting and combining ----------------------------------------------------------
def _first(ev: Evaluation, items: list[Item], args: tuple[ast.Expr, ...], fr: Frame) -> list[Item]:
    _arity("first", args, 0, 0)
    return items[:1]


def _last(ev: Evaluation, items: list[Item], args: tuple[ast.Expr, ...], fr: Frame) -> list[Item]:
    return items[-1:]


def _tail(ev: Evaluation, items: list[Item], args: tuple[ast.Expr, ...], fr: Frame) -> list[Item]:
    return items[1:]


def _skip(ev: Evaluation, items: list[Item], args: tuple[ast.Expr, ...], fr: Frame) -> list[Item]:
    _arity("skip", args, 1, 1)
    return items[max(0, _int_arg(ev, "skip", args[0], fr)) :]


def _take(ev: Evaluation, items: list[Item], args: tuple[ast.Expr, ...], fr: Frame) -> list[Item]:
    _arity("take", args, 1, 1)
    return items[: max(0, _int_arg(ev, "take", args[0], fr))]


def _single(ev: Evaluation, items: list[Item], args: tuple[ast.Expr, ...], fr: Frame) -> list[Item]:
    return [single(items, "single()")] if items else []


def _union(ev: Evaluation, items: list[Item], args: tuple[ast.Expr, ...], fr: Frame) -> list[Item]:
    _arity("union", args, 1, 1)
    return union(items, ev.arg(args[0], fr))


def _combine(
    ev: Evaluation, items: list[Item], args: tuple[ast.Expr, ...], fr: Frame
) -> list[Item]:
    _arity("combine", args, 1, 1)
    return items + ev.arg(args[0], fr)


def _intersect(
    ev: Evaluation, items: list[Item], args: tuple[ast.Expr, ...], fr: Frame
) -> list[Item]:
    other = ev.arg(args[0], fr)
    return [i for i in union(items, []) if any(equals(i, o) for o in other)]


def _exclude(
    ev: Evaluation, items: list[Item], args: tuple[ast.Expr, ...], fr: Frame
) -> list[Item]:
    other = ev.arg(args[0], fr)
    return [i for i in items if not any(equals(i, o) for o in other)]


def _iif(ev: Evaluation, items: list[Item], args: tuple[ast.Expr, ...], fr: Frame) -> list[Item]:
    _arity("iif", args, 2, 3)
    focus = items if len(items) == 1 else ([] if fr.this is None else [fr.this])
    this = focus[0] if focus else None
    frame = Frame(this, fr.index, fr.total)
    if to_bool(ev.eval(args[0], focus, frame), "iif") is True:
        return ev.eval(args[1], focus, frame)
    return ev.eval(args[2], focus, frame) if len(args) == 3 else []


def _not(ev: Evaluation, items: list[Item], args: tuple[ast.Expr, ...], fr: Frame) -> list[Item]:
    _arity("not", args, 0, 0)
    value = to_bool(items, "not()")
    return [] if value is None else [not value]


# -- types -----------------------------------------------------------------------------
def _of_type(
    ev: Evaluation, items: list[Item], args: tuple[ast.Expr, ...], fr: Frame
) -> list[Item]:
    type_name = _type_arg("ofType", args)
    return [i for i in items if ev.is_type(i, type_name)]


def _as(ev: Evaluation, items: list[Item], args: tuple[ast.Expr, ...], fr: Frame) -> list[Item]:
    type_name = _type_arg("as", args)
    return [i for i in items[:1] if ev.is_type(single(items, "as()"), type_name)]


def _is(ev: Evaluation, items: list[Item], args: tuple[ast.Expr, ...], fr: Frame) -> list[Item]:
    type_name = _type_arg("is", args)
    return [ev.is_type(single(items, "is()"), type_name)] if items else []


# -- FHIR and SQL-on-FHIR functions ----------------------------------------------------
def _extension(
    ev: Evaluation, items: list[Item], args: tuple[ast.Expr, ...], fr: Frame
) -> list[Item]:
    _arity("extension", args, 1, 1)
    url = ev.arg(args[0], fr)
    if not url:
        return []
    wanted = to_system(single(url, "extension()"))
    out: list[Item] = []
    for item in items:
        if isinstance(item, Node) and isinstance(item.value, dict):
            for ext in item.value.get("extension") or ():
                if isinstance(ext, dict) and ext.get("url") == wanted:
                    out.append(wrap(ext, "Extension"))
    return out


def _resource_key(
    ev: Evaluation, items: list[Item], args: tuple[ast.Expr, ...], fr: Frame
) -> list[Item]:
    _arity("getResourceKey", args, 0, 0)
    out: list[Item] = []
    for item in items:
        if isinstance(item, Node) and isinstance(item.value, dict):
            key = resource_key(item.value)
            if key is not None:
                out.append(key)
    return out


def _reference_key(
    ev: Evaluation, items: list[Item], args: tuple[ast.Expr, ...], fr: Frame
) -> list[Item]:
    _arity("getReferenceKey", args, 0, 1)
    expected = _type_arg("getReferenceKey", args) if args else None
    out: list[Item] = []
    for item in items:
        if isinstance(item, Node) and isinstance(item.value, dict):
            key = reference_key(item.value, expected)
            if key is not None:
                out.append(key)
    return out


def _boundary(high: bool) -> Function:
    def boundary(
        ev: Evaluation, items: list[Item], args: tuple[ast.Expr, ...], fr: Frame
    ) -> list[Item]:
        _arity("highBoundary" if high else "lowBoundary", args, 0, 1)
        out: list[Item] = []
        for item in items:
            if isinstance(item, Node) and item.type == "Period" and isinstance(item.value, dict):
                edge = item.value.get("end" if high else "start")
                if isinstance(edge, str):
                    item = wrap(edge, "dateTime")
                else:
                    continue
            value = to_system(item)
            result = _bound(value, high)
            if result is not None:
                out.append(result)
        return out

    return boundary


def _bound(value: Item, high: bool) -> Item | None:
    if isinstance(value, FPDateTime | FPTime):
        return value.boundary(high)
    if isinstance(value, Quantity):
        inner = _bound(value.value, high)
        return None if inner is None else Quantity(inner, value.unit)
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        number = Decimal(value)
        exponent = number.as_tuple().exponent
        places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
        delta = Decimal(5).scaleb(-(places + 1))
        return number + delta if high else number - delta
    return None


# -- tree navigation -------------------------------------------------------------------
def _children_of(ev: Evaluation, item: Item) -> list[Item]:
    out: list[Item] = []
    if isinstance(item, Node) and isinstance(item.value, dict):
        for key in item.value:
            if key != "resourceType" and not key.startswith("_"):
                ev.children(item, key, out)
    return out


def _children(
    ev: Evaluation, items: list[Item], args: tuple[ast.Expr, ...], fr: Frame
) -> list[Item]:
    return [c for item in items for c in _children_of(ev, item)]


def _descendants(
    ev: Evaluation, items: list[Item], args: tuple[ast.Expr, ...], fr: Frame
) -> list[Item]:
    out: list[Item] = []
    queue = [c for item in items for c in _children_of(ev, item)]
    while queue:
        item = queue.pop(0)
        out.append(item)
        queue.extend(_children_of(ev, item))
    return out


def _has_value(
    ev: Evaluation, items: list[Item], args: tuple[ast.Expr, ...], fr: Frame
) -> list[Item]:
    return [len(items) == 1 and isinstance(items[0], Node) and not isinstance(items[0].value, dict)]


def _get_value(
    ev: Evaluation, items: list[Item], args: tuple[ast.Expr, ...], fr: Frame
) -> list[Item]:
    if len(items) == 1 and isinstance(items[0], Node) and not isinstance(items[0].value, dict):
        return [to_system(items[0])]
    return []


def _now(ev: Evaluation, items: list[Item], args: tuple[ast.Expr, ...], fr: Frame) -> list[Item]:
    return [FPDateTime.now()]


def _today(ev: Evaluation, items: list[Item], args: tuple[ast.Expr, ...], fr: Frame) -> list[Item]:
    now = FPDateTime.now()
    return [FPDateTime(now.year, now.month, now.day, precision=3, date_only=True)]


def _trace(ev: Evaluation, items: list[Item], args: tuple[ast.Expr, ...], fr: Frame) -> list[Item]:
    return items


FUNCTIONS: dict[str, Function] = {
    "empty": _empty,
    "exists": _exists,
    "where": _where,
    "all": _all,
    "select": _select,
    "repeat": _repeat,
    "allTrue": _all_true,
    "anyTrue": _any_true,
    "allFalse": _all_false,
    "anyFalse": _any_false,
    "count": _count,
    "distinct": _distinct,
    "isDistinct": _is_distinct,
    "subsetOf": _subset_of,
    "supersetOf": _superset_of,
    "first": _first,
    "last": _last,
    "tail": _tail,
    "skip": _skip,
    "take": _take,
    "single": _single,
    "union": _union,
    "combine": _combine,
    "intersect": _intersect,
    "exclude": _exclude,
    "iif": _iif,
    "not": _not,
    "ofType": _of_type,
    "as": _as,
    "is": _is,
    "extension": _extension,
    "getResourceKey": _resource_key,
    "getReferenceKey": _reference_key,
    "lowBoundary": _boundary(high=False),
    "highBoundary": _boundary(high=True),
    "children": _children,
    "descendants": _descendants,
    "hasValue": _has_value,
    "getValue": _get_value,
    "now": _now,
    "today": _today,
    "trace": _trace,
    **TEXT_FUNCTIONS,
}


FUNCTION_TABLE.update(FUNCTIONS)


def function_names() -> frozenset[str]:
    """Every function the reference evaluator knows (documented in the reference page)."""
    return frozenset(FUNCTIONS)
