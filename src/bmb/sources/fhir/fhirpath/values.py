"""Items of FHIRPath collections, and how they compare.

A collection holds two kinds of item: a :class:`Node`, an element read from a FHIR
resource together with its FHIR type (when the model or a choice key says it), and a
plain system value produced by a literal or a function (``str``, ``int``, ``Decimal``,
``bool``, :class:`FPDateTime`, :class:`FPTime`, :class:`Quantity`). Operators work on
system values, so a node's JSON text becomes a date, a decimal or a quantity according
to its FHIR type (:func:`to_system`) before it is compared.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bmb.sources.fhir.fhirpath.ast import Quantity
from bmb.sources.fhir.fhirpath.temporal import FPDateTime, FPTime
from bmb.sources.fhir.model import INEXACT_STRING

_DATETIME_TYPES = frozenset({"dateTime", "instant"})
_INTEGER_TYPES = frozenset({"integer", "positiveInt", "unsignedInt", "integer64"})


@dataclass(frozen=True, slots=True)
class Node:
    """An element of a FHIR resource: its JSON value and FHIR type name (None: unknown)."""

    value: Any
    type: str | None


Item = Any  # Node | str | int | Decimal | bool | FPDateTime | FPTime | Quantity


def wrap(value: Any, fhir_type: str | None) -> Node:
    """A node for a JSON value; contained resources take their type from ``resourceType``."""
    if isinstance(value, dict):
        rtype = value.get("resourceType")
        if isinstance(rtype, str) and (fhir_type is None or fhir_type == "Resource"):
            return Node(value, rtype)
    elif fhir_type is None:
        if isinstance(value, bool):
            fhir_type = "boolean"
        elif isinstance(value, int):
            fhir_type = "integer"
        elif isinstance(value, Decimal | float):
            fhir_type = "decimal"
    return Node(value, fhir_type)


def system_type(item: Item) -> str | None:
    """The FHIR/FHIRPath type name of an item, as ``ofType()`` and ``is`` compare it."""
    if isinstance(item, Node):
        return item.type
    if isinstance(item, bool):
        return "boolean"
    if isinstance(item, int):
        return "integer"
    if isinstance(item, Decimal):
        return "decimal"
    if isinstance(item, str):
        return "string"
    if isinstance(item, FPDateTime):
        return "date" if item.date_only else "dateTime"
    if isinstance(item, FPTime):
        return "time"
    if isinstance(item, Quantity):
        return "Quantity"
    return None


def to_system(item: Item) -> Item:
    """The system value an item stands for: FHIR text becomes a date, decimal, quantity."""
    if not isinstance(item, Node):
        return item
    value, typ = item.value, item.type
    if isinstance(value, str):
        if typ == "date":
            return FPDateTime.parse(value, date_only=True) or value
        if typ in _DATETIME_TYPES:
            return FPDateTime.parse(value) or value
        if typ == "time":
            return FPTime.parse(value) or value
        return value
    if isinstance(value, bool | Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value) if typ == "decimal" else value
    if isinstance(value, float):
        return Decimal(repr(value))
    if (
        isinstance(value, dict)
        and typ is not None
        and typ in ("Quantity", "Age", "Duration", "Distance", "Count", "Money")
    ):
        amount = value.get("value")
        if isinstance(amount, int | Decimal | float) and not isinstance(amount, bool):
            unit = value.get("code") or value.get("unit") or value.get("currency") or "1"
            return Quantity(Decimal(str(amount)), str(unit))
    return item


def _coerce_pair(a: Item, b: Item) -> tuple[Item, Item]:
    """Implicit conversions: text of unknown type against a date, integer against decimal."""
    if isinstance(a, str) and isinstance(b, FPDateTime):
        a = FPDateTime.parse(a, date_only=b.date_only) or FPDateTime.parse(a) or a
    elif isinstance(b, str) and isinstance(a, FPDateTime):
        b = FPDateTime.parse(b, date_only=a.date_only) or FPDateTime.parse(b) or b
    elif isinstance(a, str) and isinstance(b, FPTime):
        a = FPTime.parse(a) or a
    elif isinstance(b, str) and isinstance(a, FPTime):
        b = FPTime.parse(b) or b
    return a, b


def _is_number(v: Item) -> bool:
    return isinstance(v, int | Decimal) and not isinstance(v, bool)


def equals(a: Item, b: Item) -> bool | None:
    """FHIRPath ``=`` on two items: True, False, or None (unknown: dates of other precision)."""
    a, b = _coerce_pair(to_system(a), to_system(b))
    if _is_number(a) and _is_number(b):
        return bool(a == b)
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, FPDateTime) and isinstance(b, FPDateTime):
        cmp = a.compare(b)
        return None if cmp is None else cmp == 0
    if isinstance(a, FPTime) and isinstance(b, FPTime):
        cmp = a.compare(b)
        return None if cmp is None else cmp == 0
    if isinstance(a, Node) and isinstance(b, Node):
        return bool(_normalize(a.value) == _normalize(b.value))
    if type(a) is not type(b):
        return False
    return bool(a == b)


def _normalize(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _normalize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalize(v) for v in value]
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


def equivalent(a: Item, b: Item) -> bool:
    """FHIRPath ``~``: like ``=`` but case- and whitespace-blind, never unknown."""
    a, b = _coerce_pair(to_system(a), to_system(b))
    if isinstance(a, str) and isinstance(b, str):
        return " ".join(a.lower().split()) == " ".join(b.lower().split())
    if _is_number(a) and _is_number(b):
        da, db = Decimal(a), Decimal(b)
        exps = [da.as_tuple().exponent, db.as_tuple().exponent]
        quantum = Decimal(1).scaleb(max(e for e in exps if isinstance(e, int)))
        return da.quantize(quantum) == db.quantize(quantum)
    result = equals(a, b)
    return bool(result)


def compare(a: Item, b: Item) -> int | None:
    """Order two items for ``< > <= >=``; None when unknown or not comparable."""
    a, b = _coerce_pair(to_system(a), to_system(b))
    if _is_number(a) and _is_number(b):
        return int(a > b) - int(a < b)
    if isinstance(a, str) and isinstance(b, str):
        return int(a > b) - int(a < b)
    if isinstance(a, FPDateTime) and isinstance(b, FPDateTime):
        return a.compare(b)
    if isinstance(a, FPTime) and isinstance(b, FPTime):
        return a.compare(b)
    if isinstance(a, Quantity) and isinstance(b, Quantity) and a.unit == b.unit:
        return (a.value > b.value) - (a.value < b.value)
    return None


def output_value(item: Item) -> Any:
    """An item as a row value: FHIR JSON scalars, dates as text, decimals as floats."""
    if isinstance(item, Node):
        item = item.value
    if isinstance(item, bool | str | int) or item is None:
        return item
    if isinstance(item, Decimal | float):
        return float(item)
    if isinstance(item, FPDateTime | FPTime):
        return item.iso()
    if isinstance(item, Quantity):
        return {"value": float(item.value), "unit": item.unit}
    if isinstance(item, dict):
        return {k: output_value(v) for k, v in item.items()}
    if isinstance(item, list):
        return [output_value(v) for v in item]
    return item


def is_inexact_string(type_name: str | None) -> bool:
    """Whether a node's type is the model's "some string-like primitive"."""
    return type_name == INEXACT_STRING
