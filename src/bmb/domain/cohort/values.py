"""Value tests applied to a field of an event: ranges, text patterns, concept lists.

These mirror what ATLAS offers on an attribute (``Age >= 18``, ``Value between 1 and
2``, ``Stop reason contains 'allergy'``) and are the leaves of every criterion.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from bmb.domain.cohort.errors import CohortDefinitionError


class RangeOp(StrEnum):
    """Comparison of a range test; ``bt``/``!bt`` are inclusive between and its negation."""

    LT = "lt"
    LTE = "lte"
    EQ = "eq"
    NEQ = "!eq"
    GT = "gt"
    GTE = "gte"
    BETWEEN = "bt"
    NOT_BETWEEN = "!bt"

    @property
    def is_between(self) -> bool:
        return self in (RangeOp.BETWEEN, RangeOp.NOT_BETWEEN)


def _range_op(op: RangeOp | str, what: str) -> RangeOp:
    try:
        return RangeOp(op)
    except ValueError:
        allowed = ", ".join(o.value for o in RangeOp)
        raise CohortDefinitionError(f"{what}: unknown operator {op!r} (one of {allowed})") from None


@dataclass(frozen=True, slots=True)
class NumericRange:
    """A number compared to ``value`` (and ``extent`` for between)."""

    op: RangeOp
    value: float
    extent: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "op", _range_op(self.op, "numeric range"))
        if self.op.is_between and self.extent is None:
            raise CohortDefinitionError(f"numeric range {self.op.value} needs an extent")


@dataclass(frozen=True, slots=True)
class DateRange:
    """A date compared to ``value`` (and ``extent`` for between)."""

    op: RangeOp
    value: date
    extent: date | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "op", _range_op(self.op, "date range"))
        if self.op.is_between and self.extent is None:
            raise CohortDefinitionError(f"date range {self.op.value} needs an extent")


class TextOp(StrEnum):
    """Text pattern of a text test; ``!`` negates."""

    STARTS_WITH = "startsWith"
    ENDS_WITH = "endsWith"
    CONTAINS = "contains"
    NOT_STARTS_WITH = "!startsWith"
    NOT_ENDS_WITH = "!endsWith"
    NOT_CONTAINS = "!contains"

    @property
    def negated(self) -> bool:
        return self.value.startswith("!")


@dataclass(frozen=True, slots=True)
class TextFilter:
    """A text field matched against a pattern (SQL ``LIKE``)."""

    op: TextOp
    text: str

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "op", TextOp(self.op))
        except ValueError:
            allowed = ", ".join(o.value for o in TextOp)
            raise CohortDefinitionError(
                f"text filter: unknown operator {self.op!r} (one of {allowed})"
            ) from None


@dataclass(frozen=True, slots=True)
class ConceptIn:
    """A concept field in (or, with ``exclude``, not in) a fixed list of concept ids."""

    concept_ids: tuple[int, ...]
    exclude: bool = False

    def __post_init__(self) -> None:
        if not self.concept_ids:
            raise CohortDefinitionError("a concept list test needs at least one concept id")
        object.__setattr__(self, "concept_ids", tuple(int(c) for c in self.concept_ids))


@dataclass(frozen=True, slots=True)
class CodesetIn:
    """A concept field in (or not in) one of the definition's concept sets."""

    codeset_id: int
    exclude: bool = False


@dataclass(frozen=True, slots=True)
class Flag:
    """A yes/no property of an event that holds (for example an abnormal measurement)."""


#: Every test a filter can apply.
Test = NumericRange | DateRange | TextFilter | ConceptIn | CodesetIn | Flag
