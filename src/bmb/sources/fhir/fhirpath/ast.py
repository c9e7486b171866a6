"""The FHIRPath syntax tree: small frozen nodes, built once by the parser.

Both evaluators read the same tree: the reference evaluator walks it over Python
values, the SQL compiler turns it into DuckDB expressions. Function arguments stay
unevaluated trees, because ``where(criteria)`` evaluates its argument once per item
and ``ofType(Quantity)`` names a type rather than computing a value.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from bmb.sources.fhir.fhirpath.temporal import FPDateTime, FPTime


@dataclass(frozen=True, slots=True)
class Quantity:
    """A FHIRPath quantity literal or value: a decimal and a UCUM or calendar unit."""

    value: Decimal
    unit: str


LiteralValue = bool | str | int | Decimal | FPDateTime | FPTime | Quantity


@dataclass(frozen=True, slots=True)
class Literal:
    """A literal: ``'text'``, ``3``, ``1.5``, ``true``, ``@2020-01``, ``4 'mg'``."""

    value: LiteralValue


@dataclass(frozen=True, slots=True)
class Empty:
    """The empty collection literal ``{}``."""


@dataclass(frozen=True, slots=True)
class Member:
    """``name`` navigated from ``target`` (or from the focus when ``target`` is None)."""

    target: Expr | None
    name: str


@dataclass(frozen=True, slots=True)
class Call:
    """A function call ``target.name(args)`` (``target`` None: on the focus)."""

    target: Expr | None
    name: str
    args: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Index:
    """``target[index]``: the item at a zero-based position."""

    target: Expr
    index: Expr


@dataclass(frozen=True, slots=True)
class Variable:
    """``$this``, ``$index`` or ``$total`` (``name`` without the dollar)."""

    name: str


@dataclass(frozen=True, slots=True)
class External:
    """``%name``: an environment variable or a ViewDefinition constant."""

    name: str


@dataclass(frozen=True, slots=True)
class Unary:
    """``-x`` or ``+x``."""

    op: str
    operand: Expr


@dataclass(frozen=True, slots=True)
class Binary:
    """An infix operator: arithmetic, comparison, equality, boolean, union, membership."""

    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class TypeTest:
    """``x is T`` or ``x as T``."""

    op: str
    operand: Expr
    type_name: str


Expr = Literal | Empty | Member | Call | Index | Variable | External | Unary | Binary | TypeTest


def type_name_of(expr: Expr) -> str | None:
    """The type a specifier argument names (``Quantity``, ``FHIR.Quantity``), if it is one."""
    if isinstance(expr, Member):
        if expr.target is None:
            return expr.name
        target = expr.target
        if (
            isinstance(target, Member)
            and target.target is None
            and target.name in ("FHIR", "System")
        ):
            return expr.name
    if isinstance(expr, Literal) and isinstance(expr.value, str):
        return expr.value  # getReferenceKey('Patient') as the spec's example writes it
    return None
