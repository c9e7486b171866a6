"""FHIRPath string, conversion and math functions.

They all work on a single input item (an empty input gives an empty result) except
``join``, which joins the whole collection. Kept apart from the collection functions
so that each module stays about one concept.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from bmb.sources.fhir.errors import FhirPathError
from bmb.sources.fhir.fhirpath.ast import Quantity
from bmb.sources.fhir.fhirpath.temporal import FPDateTime, FPTime
from bmb.sources.fhir.fhirpath.values import Item, output_value, to_system

if TYPE_CHECKING:
    from bmb.sources.fhir.fhirpath import ast
    from bmb.sources.fhir.fhirpath.evaluator import Evaluation, Frame

Function = Callable[["Evaluation", list[Item], "tuple[ast.Expr, ...]", "Frame"], list[Item]]


def _one(items: list[Item], name: str) -> Item | None:
    if not items:
        return None
    if len(items) > 1:
        raise FhirPathError(f"FHIRPath: {name}() expects a single item, got {len(items)}")
    return to_system(items[0])


def _string_input(items: list[Item], name: str) -> str | None:
    value = _one(items, name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise FhirPathError(f"FHIRPath: {name}() needs a string, got {value!r}")
    return value


def _arg_value(ev: Evaluation, arg: ast.Expr, fr: Frame, name: str) -> Item | None:
    return _one(ev.arg(arg, fr), name)


def _string_fn(
    name: str, body: Callable[[str, list[Item | None]], Item | None], nargs: int
) -> Function:
    def fn(ev: Evaluation, items: list[Item], args: tuple[ast.Expr, ...], fr: Frame) -> list[Item]:
        if len(args) > nargs:
            raise FhirPathError(f"FHIRPath: {name}() takes at most {nargs} argument(s)")
        text = _string_input(items, name)
        if text is None:
            return []
        values = [_arg_value(ev, a, fr, name) for a in args]
        if any(v is None for v in values[:1]) and args:
            return []
        result = body(text, values)
        return [] if result is None else [result]

    return fn


def _substring(text: str, a: list[Item | None]) -> Item | None:
    start = a[0]
    if not isinstance(start, int) or start < 0 or start >= len(text):
        return None
    if len(a) > 1 and isinstance(a[1], int):
        return text[start : start + max(0, a[1])]
    return text[start:]


def _join(ev: Evaluation, items: list[Item], args: tuple[ast.Expr, ...], fr: Frame) -> list[Item]:
    sep = _arg_value(ev, args[0], fr, "join") if args else ""
    parts = []
    for item in items:
        value = to_system(item)
        if not isinstance(value, str):
            raise FhirPathError(f"FHIRPath: join() needs strings, got {value!r}")
        parts.append(value)
    return [str(sep or "").join(parts)]


def _split(ev: Evaluation, items: list[Item], args: tuple[ast.Expr, ...], fr: Frame) -> list[Item]:
    text = _string_input(items, "split")
    sep = _arg_value(ev, args[0], fr, "split")
    if text is None or not isinstance(sep, str):
        return []
    return list(text.split(sep)) if sep else list(text)


def _to_chars(
    ev: Evaluation, items: list[Item], args: tuple[ast.Expr, ...], fr: Frame
) -> list[Item]:
    text = _string_input(items, "toChars")
    return [] if text is None else list(text)


# -- conversions -----------------------------------------------------------------------
def _convert(value: Item, target: str) -> Item | None:
    if target == "String":
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, Quantity):
            return f"{value.value} '{value.unit}'"
        rendered = output_value(value)
        return rendered if isinstance(rendered, str) else (None if rendered is None else str(value))
    if target == "Integer":
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            return value
        if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value):
            return int(value)
        return None
    if target == "Decimal":
        if isinstance(value, bool):
            return Decimal(int(value))
        if isinstance(value, int | Decimal):
            return Decimal(value)
        if isinstance(value, str) and re.fullmatch(r"[+-]?\d+(\.\d+)?", value):
            return Decimal(value)
        return None
    if target == "Boolean":
        if isinstance(value, bool):
            return value
        text = str(value).lower() if isinstance(value, str | int | Decimal) else ""
        if text in ("true", "t", "yes", "y", "1", "1.0"):
            return True
        if text in ("false", "f", "no", "n", "0", "0.0"):
            return False
        return None
    if target in ("Date", "DateTime"):
        if isinstance(value, FPDateTime):
            return value
        if isinstance(value, str):
            return FPDateTime.parse(value, date_only=target == "Date")
        return None
    if target == "Time":
        if isinstance(value, FPTime):
            return value
        return FPTime.parse(value) if isinstance(value, str) else None
    if target == "Quantity":
        if isinstance(value, Quantity):
            return value
        if isinstance(value, int | Decimal) and not isinstance(value, bool):
            return Quantity(Decimal(value), "1")
        if isinstance(value, str):
            m = re.fullmatch(r"([+-]?\d+(?:\.\d+)?)\s*(?:'([^']+)')?", value)
            if m:
                return Quantity(Decimal(m.group(1)), m.group(2) or "1")
        return None
    raise FhirPathError(f"FHIRPath: unknown conversion to {target}")


def _to(target: str) -> Function:
    def fn(ev: Evaluation, items: list[Item], args: tuple[ast.Expr, ...], fr: Frame) -> list[Item]:
        value = _one(items, f"to{target}")
        if value is None:
            return []
        result = _convert(value, target)
        return [] if result is None else [result]

    return fn


def _converts(target: str) -> Function:
    def fn(ev: Evaluation, items: list[Item], args: tuple[ast.Expr, ...], fr: Frame) -> list[Item]:
        value = _one(items, f"convertsTo{target}")
        return [] if value is None else [_convert(value, target) is not None]

    return fn


# -- math ------------------------------------------------------------------------------
def _math(
    name: str, op: Callable[[Decimal | int, list[Item | None]], Item | None], nargs: int = 0
) -> Function:
    def fn(ev: Evaluation, items: list[Item], args: tuple[ast.Expr, ...], fr: Frame) -> list[Item]:
        value = _one(items, name)
        if value is None:
            return []
        if isinstance(value, Quantity) and name == "abs":
            return [Quantity(abs(value.value), value.unit)]
        if not isinstance(value, int | Decimal) or isinstance(value, bool):
            raise FhirPathError(f"FHIRPath: {name}() needs a number, got {value!r}")
        extra = [_arg_value(ev, a, fr, name) for a in args[:nargs]]
        try:
            result = op(value, extra)
        except (InvalidOperation, ValueError, OverflowError):
            return []
        return [] if result is None else [result]

    return fn


def _round(v: Decimal | int, a: list[Item | None]) -> Item:
    places = a[0] if a and isinstance(a[0], int) else 0
    return Decimal(v).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _power(v: Decimal | int, a: list[Item | None]) -> Item | None:
    exponent = a[0] if a else None
    if not isinstance(exponent, int | Decimal):
        return None
    if isinstance(v, int) and isinstance(exponent, int) and exponent >= 0:
        return v**exponent
    result = Decimal(v) ** Decimal(exponent)
    return None if result.is_nan() else result


def _log(v: Decimal | int, a: list[Item | None]) -> Item | None:
    base = a[0] if a else None
    if not isinstance(base, int | Decimal):
        return None
    return Decimal(v).ln() / Decimal(base).ln()


TEXT_FUNCTIONS: dict[str, Any] = {
    "startsWith": _string_fn("startsWith", lambda s, a: s.startswith(str(a[0])), 1),
    "endsWith": _string_fn("endsWith", lambda s, a: s.endswith(str(a[0])), 1),
    "contains": _string_fn("contains", lambda s, a: str(a[0]) in s, 1),
    "matches": _string_fn("matches", lambda s, a: re.search(str(a[0]), s) is not None, 1),
    "replace": _string_fn("replace", lambda s, a: s.replace(str(a[0]), str(a[1] or "")), 2),
    "replaceMatches": _string_fn(
        "replaceMatches", lambda s, a: re.sub(str(a[0]), str(a[1] or ""), s), 2
    ),
    "indexOf": _string_fn("indexOf", lambda s, a: s.find(str(a[0])), 1),
    "substring": _string_fn("substring", _substring, 2),
    "upper": _string_fn("upper", lambda s, a: s.upper(), 0),
    "lower": _string_fn("lower", lambda s, a: s.lower(), 0),
    "length": _string_fn("length", lambda s, a: len(s), 0),
    "trim": _string_fn("trim", lambda s, a: s.strip(), 0),
    "join": _join,
    "split": _split,
    "toChars": _to_chars,
    **{
        f"to{t}": _to(t)
        for t in ("String", "Integer", "Decimal", "Boolean", "Date", "DateTime", "Time", "Quantity")
    },
    **{
        f"convertsTo{t}": _converts(t)
        for t in ("String", "Integer", "Decimal", "Boolean", "Date", "DateTime", "Time", "Quantity")
    },
    "abs": _math("abs", lambda v, a: abs(v)),
    "ceiling": _math("ceiling", lambda v, a: int(Decimal(v).to_integral_value(ROUND_CEILING))),
    "floor": _math("floor", lambda v, a: int(Decimal(v).to_integral_value(ROUND_FLOOR))),
    "truncate": _math("truncate", lambda v, a: int(v)),
    "round": _math("round", _round, 1),
    "sqrt": _math("sqrt", lambda v, a: None if v < 0 else Decimal(v).sqrt()),
    "ln": _math("ln", lambda v, a: Decimal(v).ln()),
    "exp": _math("exp", lambda v, a: Decimal(v).exp()),
    "log": _math("log", _log, 1),
    "power": _math("power", _power, 1),
}
