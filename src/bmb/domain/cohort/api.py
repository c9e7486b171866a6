"""A small fluent API to author cohort definitions in Python.

    from bmb.domain.cohort import api as c

    definition = (
        c.Cohort("New users of celecoxib without prior GI bleed")
        .concept_set(0, "celecoxib", c.concept(1118084, descendants=True))
        .concept_set(1, "GI bleed", c.concept(192671, descendants=True))
        .entry(c.drug_exposure(0, first=True), prior_days=365)
        .include("no prior GI bleed", c.none(c.condition_occurrence(1), c.window(None, -1)))
        .exit_at_end_of_exposure(0, gap_days=30)
        .build()
    )

Every call returns a new frozen value; ``build()`` validates the whole definition.
The words follow ATLAS: entry events, inclusion rules, exit, censoring, eras.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from bmb.domain.cohort.criteria import (
    CorrelatedCriterion,
    CountColumn,
    CriteriaGroup,
    Criterion,
    DateAdjustment,
    DateField,
    DemographicCriterion,
    Filter,
    GroupType,
    Occurrence,
    OccurrenceType,
    Period,
    Window,
    WindowBound,
)
from bmb.domain.cohort.definition import (
    CohortDefinition,
    ConceptSet,
    ConceptSetItem,
    DateOffsetExit,
    DrugExposureExit,
    ExitStrategy,
    InclusionRule,
    Limit,
    PrimaryCriteria,
)
from bmb.domain.cohort.domains import Domain
from bmb.domain.cohort.errors import CohortDefinitionError
from bmb.domain.cohort.values import (
    CodesetIn,
    ConceptIn,
    DateRange,
    Flag,
    NumericRange,
    RangeOp,
    Test,
    TextFilter,
    TextOp,
)

Member = CorrelatedCriterion | DemographicCriterion | CriteriaGroup

# -- concept sets ---------------------------------------------------------------------


def concept(
    concept_id: int,
    *,
    descendants: bool = False,
    mapped: bool = False,
    exclude: bool = False,
    name: str | None = None,
) -> ConceptSetItem:
    """A concept set item: the concept, optionally its descendants and mapped codes."""
    return ConceptSetItem(concept_id, descendants, mapped, exclude, name)


# -- value tests ----------------------------------------------------------------------


def _range(op: RangeOp, value: float | date, extent: float | date | None = None) -> Test:
    if isinstance(value, date):
        if extent is not None and not isinstance(extent, date):
            raise CohortDefinitionError("a date range needs dates at both ends")
        return DateRange(op, value, extent)
    if isinstance(extent, date):
        raise CohortDefinitionError("a numeric range needs numbers at both ends")
    return NumericRange(op, float(value), None if extent is None else float(extent))


def gte(value: float | date) -> Test:
    return _range(RangeOp.GTE, value)


def gt(value: float | date) -> Test:
    return _range(RangeOp.GT, value)


def lte(value: float | date) -> Test:
    return _range(RangeOp.LTE, value)


def lt(value: float | date) -> Test:
    return _range(RangeOp.LT, value)


def eq(value: float | date) -> Test:
    return _range(RangeOp.EQ, value)


def ne(value: float | date) -> Test:
    return _range(RangeOp.NEQ, value)


def between(low: float | date, high: float | date) -> Test:
    """Inclusive at both ends."""
    return _range(RangeOp.BETWEEN, low, high)


def not_between(low: float | date, high: float | date) -> Test:
    return _range(RangeOp.NOT_BETWEEN, low, high)


def concepts(*ids: int, exclude: bool = False) -> ConceptIn:
    """A fixed list of concept ids (gender, visit concept, type...)."""
    return ConceptIn(tuple(ids), exclude)


def in_concept_set(codeset_id: int, *, exclude: bool = False) -> CodesetIn:
    return CodesetIn(codeset_id, exclude)


def contains(text: str, *, negate: bool = False) -> TextFilter:
    return TextFilter(TextOp.NOT_CONTAINS if negate else TextOp.CONTAINS, text)


def starts_with(text: str, *, negate: bool = False) -> TextFilter:
    return TextFilter(TextOp.NOT_STARTS_WITH if negate else TextOp.STARTS_WITH, text)


def ends_with(text: str, *, negate: bool = False) -> TextFilter:
    return TextFilter(TextOp.NOT_ENDS_WITH if negate else TextOp.ENDS_WITH, text)


FLAG = Flag()

# -- criteria -------------------------------------------------------------------------


def events(
    domain: Domain | str,
    concept_set: int | None = None,
    *,
    source_concept_set: int | None = None,
    first: bool = False,
    where: CriteriaGroup | None = None,
    adjust: DateAdjustment | None = None,
    period: Period | None = None,
    **filters: Test | bool,
) -> Criterion:
    """Events of ``domain``; keyword filters name attributes (``age=gte(18)``)."""
    tests: list[Filter] = []
    for attribute, test in filters.items():
        if test is True:
            test = FLAG
        elif test is False:
            continue
        tests.append(Filter(attribute, test))
    return Criterion(
        domain=Domain(domain),
        codeset_id=concept_set,
        source_codeset_id=source_concept_set,
        first=first,
        filters=tuple(tests),
        correlated=where,
        date_adjustment=adjust,
        user_period=period,
    )


def condition_occurrence(concept_set: int | None = None, **kw: Any) -> Criterion:
    return events(Domain.CONDITION_OCCURRENCE, concept_set, **kw)


def condition_era(concept_set: int | None = None, **kw: Any) -> Criterion:
    return events(Domain.CONDITION_ERA, concept_set, **kw)


def drug_exposure(concept_set: int | None = None, **kw: Any) -> Criterion:
    return events(Domain.DRUG_EXPOSURE, concept_set, **kw)


def drug_era(concept_set: int | None = None, **kw: Any) -> Criterion:
    return events(Domain.DRUG_ERA, concept_set, **kw)


def procedure_occurrence(concept_set: int | None = None, **kw: Any) -> Criterion:
    return events(Domain.PROCEDURE_OCCURRENCE, concept_set, **kw)


def measurement(concept_set: int | None = None, **kw: Any) -> Criterion:
    return events(Domain.MEASUREMENT, concept_set, **kw)


def observation(concept_set: int | None = None, **kw: Any) -> Criterion:
    return events(Domain.OBSERVATION, concept_set, **kw)


def visit_occurrence(concept_set: int | None = None, **kw: Any) -> Criterion:
    return events(Domain.VISIT_OCCURRENCE, concept_set, **kw)


def device_exposure(concept_set: int | None = None, **kw: Any) -> Criterion:
    return events(Domain.DEVICE_EXPOSURE, concept_set, **kw)


def death(concept_set: int | None = None, **kw: Any) -> Criterion:
    return events(Domain.DEATH, concept_set, **kw)


def observation_period(**kw: Any) -> Criterion:
    return events(Domain.OBSERVATION_PERIOD, **kw)


# -- windows and counts -----------------------------------------------------------------


def _bound(days: int | None, unbounded_coeff: int) -> WindowBound:
    if days is None:
        return WindowBound(None, unbounded_coeff)
    return WindowBound(abs(days), -1 if days < 0 else 1)


def window(
    start: int | None, end: int | None, *, index_end: bool = False, event_end: bool = False
) -> Window:
    """Days relative to the index date: ``window(-365, -1)`` is the year before.

    ``start=None`` is all days before, ``end=None`` all days after (within the index
    event's observation period unless the criterion ignores it).
    """
    return Window(_bound(start, -1), _bound(end, 1), index_end, event_end)


def _occurrence(
    kind: OccurrenceType,
    count: int,
    criterion: Criterion,
    within: Window,
    *,
    distinct: bool | CountColumn = False,
    end_within: Window | None = None,
    same_visit: bool = False,
    ignore_observation_period: bool = False,
) -> CorrelatedCriterion:
    column = distinct if isinstance(distinct, CountColumn) else None
    return CorrelatedCriterion(
        criterion=criterion,
        start_window=within,
        occurrence=Occurrence(kind, count, bool(distinct), column),
        end_window=end_within,
        restrict_visit=same_visit,
        ignore_observation_period=ignore_observation_period,
    )


def at_least(n: int, criterion: Criterion, within: Window, **kw: Any) -> CorrelatedCriterion:
    """At least ``n`` events of ``criterion`` in the window."""
    return _occurrence(OccurrenceType.AT_LEAST, n, criterion, within, **kw)


def at_most(n: int, criterion: Criterion, within: Window, **kw: Any) -> CorrelatedCriterion:
    return _occurrence(OccurrenceType.AT_MOST, n, criterion, within, **kw)


def exactly(n: int, criterion: Criterion, within: Window, **kw: Any) -> CorrelatedCriterion:
    return _occurrence(OccurrenceType.EXACTLY, n, criterion, within, **kw)


def none(criterion: Criterion, within: Window, **kw: Any) -> CorrelatedCriterion:
    """No event of ``criterion`` in the window."""
    return exactly(0, criterion, within, **kw)


def demographics(
    *,
    age: NumericRange | None = None,
    gender: tuple[int, ...] = (),
    race: tuple[int, ...] = (),
    ethnicity: tuple[int, ...] = (),
    start_date: DateRange | None = None,
    end_date: DateRange | None = None,
) -> DemographicCriterion:
    """The person at the index event (age in years at the index date's year)."""
    return DemographicCriterion(
        age, tuple(gender), tuple(race), tuple(ethnicity), start_date, end_date
    )


def _group(kind: GroupType, members: tuple[Member, ...], count: int | None = None) -> CriteriaGroup:
    criteria = tuple(m for m in members if isinstance(m, CorrelatedCriterion))
    demos = tuple(m for m in members if isinstance(m, DemographicCriterion))
    groups = tuple(m for m in members if isinstance(m, CriteriaGroup))
    if len(criteria) + len(demos) + len(groups) != len(members):
        raise CohortDefinitionError("group members are correlated, demographic or group criteria")
    return CriteriaGroup(kind, criteria, demos, groups, count)


def all_of(*members: Member) -> CriteriaGroup:
    return _group(GroupType.ALL, members)


def any_of(*members: Member) -> CriteriaGroup:
    return _group(GroupType.ANY, members)


def at_least_of(n: int, *members: Member) -> CriteriaGroup:
    return _group(GroupType.AT_LEAST, members, n)


def at_most_of(n: int, *members: Member) -> CriteriaGroup:
    return _group(GroupType.AT_MOST, members, n)


def _as_group(members: tuple[Member, ...]) -> CriteriaGroup:
    if len(members) == 1 and isinstance(members[0], CriteriaGroup):
        return members[0]
    return all_of(*members)


# -- the cohort -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cohort:
    """An immutable builder of a :class:`CohortDefinition`."""

    name: str = ""
    description: str = ""
    concept_sets: tuple[ConceptSet, ...] = ()
    primary: PrimaryCriteria | None = None
    additional: CriteriaGroup | None = None
    qualified_limit: Limit = Limit.FIRST
    rules: tuple[InclusionRule, ...] = ()
    expression_limit: Limit = Limit.FIRST
    exit: ExitStrategy | None = None
    censoring: tuple[Criterion, ...] = ()
    period: Period | None = None
    pad: int = 0

    def concept_set(self, set_id: int, name: str, *items: ConceptSetItem) -> Cohort:
        return replace(self, concept_sets=(*self.concept_sets, ConceptSet(set_id, name, items)))

    def entry(
        self,
        *criteria: Criterion,
        prior_days: int = 0,
        post_days: int = 0,
        limit: Limit | str = Limit.ALL,
    ) -> Cohort:
        """Entry events: any of ``criteria`` with that much observation around them."""
        return replace(self, primary=PrimaryCriteria(criteria, prior_days, post_days, Limit(limit)))

    def qualify(self, *members: Member, limit: Limit | str = Limit.FIRST) -> Cohort:
        """Additional criteria every entry event must meet (ATLAS "restrict initial events")."""
        return replace(self, additional=_as_group(members), qualified_limit=Limit(limit))

    def include(self, name: str, *members: Member, description: str = "") -> Cohort:
        """An inclusion rule (all members must hold, or give one group)."""
        rule = InclusionRule(name, _as_group(members), description)
        return replace(self, rules=(*self.rules, rule))

    def limit(self, limit: Limit | str) -> Cohort:
        """Which included events per person enter the cohort (default: the first)."""
        return replace(self, expression_limit=Limit(limit))

    def exit_after(
        self, days: int, *, counting_from: DateField | str = DateField.START_DATE
    ) -> Cohort:
        return replace(self, exit=DateOffsetExit(DateField(counting_from), days))

    def exit_at_end_of_exposure(
        self,
        concept_set: int,
        *,
        gap_days: int = 0,
        persistence: int = 0,
        days_supply: int | None = None,
    ) -> Cohort:
        """Exit when continuous exposure to ``concept_set`` drugs ends (plus persistence)."""
        return replace(self, exit=DrugExposureExit(concept_set, gap_days, persistence, days_supply))

    def exit_at_end_of_observation(self) -> Cohort:
        return replace(self, exit=None)

    def censor(self, *criteria: Criterion) -> Cohort:
        """Exit early at the first of these events after entry."""
        return replace(self, censoring=(*self.censoring, *criteria))

    def censor_window(self, start: date | None = None, end: date | None = None) -> Cohort:
        return replace(self, period=Period(start, end))

    def era_pad(self, days: int) -> Cohort:
        """Join cohort periods separated by at most ``days`` days."""
        return replace(self, pad=days)

    def build(self) -> CohortDefinition:
        if self.primary is None:
            raise CohortDefinitionError("a cohort needs entry events (call .entry(...))")
        return CohortDefinition(
            primary=self.primary,
            concept_sets=self.concept_sets,
            additional=self.additional,
            qualified_limit=self.qualified_limit,
            inclusion_rules=self.rules,
            expression_limit=self.expression_limit,
            exit=self.exit,
            censoring=self.censoring,
            era_pad=self.pad,
            censor_window=self.period,
            name=self.name,
            description=self.description,
        )


__all__ = [
    "FLAG",
    "Cohort",
    "DateAdjustment",
    "all_of",
    "any_of",
    "at_least",
    "at_least_of",
    "at_most",
    "at_most_of",
    "between",
    "concept",
    "concepts",
    "condition_era",
    "condition_occurrence",
    "contains",
    "death",
    "demographics",
    "device_exposure",
    "drug_era",
    "drug_exposure",
    "ends_with",
    "eq",
    "events",
    "exactly",
    "gt",
    "gte",
    "in_concept_set",
    "lt",
    "lte",
    "measurement",
    "ne",
    "none",
    "not_between",
    "observation",
    "observation_period",
    "procedure_occurrence",
    "starts_with",
    "visit_occurrence",
    "window",
]
