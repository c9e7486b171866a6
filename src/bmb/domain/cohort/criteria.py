"""Criteria: which events count, and how events relate to an index event in time.

The vocabulary follows OHDSI's (ATLAS, Circe) so that epidemiologists recognise it:
a *criterion* selects events of one domain; a *correlated criterion* counts such
events in a *window* around each index event; a *criteria group* combines correlated
criteria, demographic criteria and nested groups with ALL / ANY / AT_LEAST n /
AT_MOST n.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import IntEnum, StrEnum

from bmb.domain.cohort.domains import DOMAINS, AttrKind, Domain
from bmb.domain.cohort.errors import CohortDefinitionError
from bmb.domain.cohort.values import (
    CodesetIn,
    ConceptIn,
    DateRange,
    Flag,
    NumericRange,
    Test,
    TextFilter,
)

_KIND_TESTS: dict[AttrKind, tuple[type, ...]] = {
    AttrKind.NUMERIC: (NumericRange,),
    AttrKind.DATE: (DateRange,),
    AttrKind.TEXT: (TextFilter,),
    AttrKind.CONCEPTS: (ConceptIn, CodesetIn),
    AttrKind.FLAG: (Flag,),
}


@dataclass(frozen=True, slots=True)
class Filter:
    """One attribute test on an event (``age >= 18``, ``type not in (...)``)."""

    attribute: str
    test: Test


@dataclass(frozen=True, slots=True)
class Period:
    """A span of calendar dates, either end optional (a censor window, a user period)."""

    start: date | None = None
    end: date | None = None

    def __post_init__(self) -> None:
        if self.start is not None and self.end is not None and self.end < self.start:
            raise CohortDefinitionError(f"period ends ({self.end}) before it starts ({self.start})")

    @property
    def is_empty(self) -> bool:
        return self.start is None and self.end is None


class DateField(StrEnum):
    """Which date of an event an offset counts from."""

    START_DATE = "start_date"
    END_DATE = "end_date"


@dataclass(frozen=True, slots=True)
class DateAdjustment:
    """Move an event's start and end: each from one of its dates plus an offset in days."""

    start_with: DateField = DateField.START_DATE
    start_offset: int = 0
    end_with: DateField = DateField.END_DATE
    end_offset: int = 0


@dataclass(frozen=True, slots=True)
class Criterion:
    """Events of one domain: in a concept set, passing attribute filters.

    ``first`` keeps only the person's earliest such event in their whole history
    (before any other filter of the cohort applies, as in Circe). ``correlated``
    keeps only events that themselves satisfy a criteria group, with the event as
    index. ``user_period`` (observation periods only) replaces the period's dates by
    fixed ones, keeping periods that contain them.
    """

    domain: Domain
    codeset_id: int | None = None
    source_codeset_id: int | None = None
    first: bool = False
    filters: tuple[Filter, ...] = ()
    correlated: CriteriaGroup | None = None
    date_adjustment: DateAdjustment | None = None
    user_period: Period | None = None

    def __post_init__(self) -> None:
        try:
            domain = Domain(self.domain)
        except ValueError:
            allowed = ", ".join(d.value for d in Domain)
            raise CohortDefinitionError(
                f"unknown domain {self.domain!r} (one of {allowed})"
            ) from None
        object.__setattr__(self, "domain", domain)
        object.__setattr__(self, "filters", tuple(self.filters))
        spec = DOMAINS[domain]
        if self.codeset_id is not None and not spec.codeset:
            raise CohortDefinitionError(f"{domain.value} events have no concept to match")
        if self.source_codeset_id is not None and not spec.source_codeset:
            raise CohortDefinitionError(f"{domain.value} events have no source concept to match")
        if self.first and not spec.first:
            raise CohortDefinitionError(f"'first' is not defined for {domain.value}")
        if self.user_period is not None and domain is not Domain.OBSERVATION_PERIOD:
            raise CohortDefinitionError("a user-defined period applies to observation periods")
        seen: set[str] = set()
        for f in self.filters:
            kind = spec.attributes.get(f.attribute)
            if kind is None:
                allowed = ", ".join(sorted(spec.attributes))
                raise CohortDefinitionError(
                    f"{domain.value} has no attribute {f.attribute!r} (one of {allowed})"
                )
            if not isinstance(f.test, _KIND_TESTS[kind]):
                raise CohortDefinitionError(
                    f"{domain.value}.{f.attribute} takes a {kind.value} test, "
                    f"not {type(f.test).__name__}"
                )
            if f.attribute in seen:
                raise CohortDefinitionError(f"{domain.value}.{f.attribute} is filtered twice")
            seen.add(f.attribute)

    def filter(self, attribute: str) -> Test | None:
        """The test on ``attribute``, if any."""
        for f in self.filters:
            if f.attribute == attribute:
                return f.test
        return None


@dataclass(frozen=True, slots=True)
class WindowBound:
    """One end of a window: ``days`` before (coeff -1) or after (coeff +1) the index.

    ``days=None`` is unbounded: all days before or after, limited by the index event's
    observation period unless the correlated criterion ignores it.
    """

    days: int | None
    coeff: int

    def __post_init__(self) -> None:
        if self.coeff not in (-1, 1):
            raise CohortDefinitionError(f"window coefficient must be -1 or 1, not {self.coeff}")
        if self.days is not None and self.days < 0:
            raise CohortDefinitionError(
                f"window days must be zero or more (use coeff -1 for before), not {self.days}"
            )

    @property
    def offset(self) -> int | None:
        """Signed days from the index date, or None if unbounded."""
        return None if self.days is None else self.days * self.coeff


@dataclass(frozen=True, slots=True)
class Window:
    """Where an event's date must fall relative to the index event's date.

    The event date is its start (or end, ``use_event_end``); the index date is the
    index event's start (or end, ``use_index_end``).
    """

    start: WindowBound
    end: WindowBound
    use_index_end: bool = False
    use_event_end: bool = False


class OccurrenceType(IntEnum):
    """How a count of events is compared (Circe's numbering)."""

    EXACTLY = 0
    AT_MOST = 1
    AT_LEAST = 2


class CountColumn(StrEnum):
    """What a distinct count counts."""

    DOMAIN_CONCEPT = "domain_concept"
    START_DATE = "start_date"
    VISIT_ID = "visit_id"


@dataclass(frozen=True, slots=True)
class Occurrence:
    """How many matching events a correlated criterion requires."""

    type: OccurrenceType
    count: int
    distinct: bool = False
    count_column: CountColumn | None = None

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "type", OccurrenceType(self.type))
        except ValueError:
            raise CohortDefinitionError(
                f"occurrence type must be 0 (exactly), 1 (at most) or 2 (at least), "
                f"not {self.type!r}"
            ) from None
        if self.count < 0:
            raise CohortDefinitionError(f"occurrence count must be zero or more, not {self.count}")
        if self.count_column is not None and not self.distinct:
            raise CohortDefinitionError("a count column applies to distinct counts only")

    @property
    def allows_zero(self) -> bool:
        """True when an index event with no matching event can satisfy the criterion."""
        return self.type is OccurrenceType.AT_MOST or self.count == 0


@dataclass(frozen=True, slots=True)
class CorrelatedCriterion:
    """Count events of ``criterion`` in a window around each index event."""

    criterion: Criterion
    start_window: Window
    occurrence: Occurrence
    end_window: Window | None = None
    restrict_visit: bool = False
    ignore_observation_period: bool = False


@dataclass(frozen=True, slots=True)
class DemographicCriterion:
    """The person at the index event: age, gender, race, ethnicity, index dates."""

    age: NumericRange | None = None
    gender: tuple[int, ...] = ()
    race: tuple[int, ...] = ()
    ethnicity: tuple[int, ...] = ()
    start_date: DateRange | None = None
    end_date: DateRange | None = None


class GroupType(StrEnum):
    """How the members of a criteria group combine."""

    ALL = "ALL"
    ANY = "ANY"
    AT_LEAST = "AT_LEAST"
    AT_MOST = "AT_MOST"


@dataclass(frozen=True, slots=True)
class CriteriaGroup:
    """Correlated criteria, demographic criteria and nested groups, combined."""

    type: GroupType = GroupType.ALL
    criteria: tuple[CorrelatedCriterion, ...] = ()
    demographics: tuple[DemographicCriterion, ...] = ()
    groups: tuple[CriteriaGroup, ...] = ()
    count: int | None = None

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "type", GroupType(str(self.type).upper()))
        except ValueError:
            allowed = ", ".join(g.value for g in GroupType)
            raise CohortDefinitionError(
                f"unknown group type {self.type!r} (one of {allowed})"
            ) from None
        object.__setattr__(self, "criteria", tuple(self.criteria))
        object.__setattr__(self, "demographics", tuple(self.demographics))
        object.__setattr__(self, "groups", tuple(self.groups))
        needs_count = self.type in (GroupType.AT_LEAST, GroupType.AT_MOST)
        if needs_count and (self.count is None or self.count < 0):
            raise CohortDefinitionError(f"a {self.type.value} group needs a count of 0 or more")

    @property
    def is_empty(self) -> bool:
        return not (self.criteria or self.demographics or self.groups)

    @property
    def size(self) -> int:
        return len(self.criteria) + len(self.demographics) + len(self.groups)
