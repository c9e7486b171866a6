"""A cohort definition: concept sets, entry events, rules, exit and era collapse.

The shape is Circe's (the engine behind ATLAS), so that a definition imported from
ATLAS keeps its meaning exactly, and so that epidemiologists find the steps they know:

1. entry events (primary criteria) with required observation before and after,
   limited to the first, last or all events per person;
2. optional additional qualifying criteria, then a limit on qualified events;
3. inclusion rules, each a criteria group, evaluated independently (the attrition
   report counts events and persons passing each), then a limit on included events;
4. an exit per event (end of observation, a fixed offset, or the end of continuous
   drug exposure), possibly earlier at a censoring event;
5. periods collapsed into eras when closer than ``era_pad`` days, then clipped to the
   censor window.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from bmb.domain.cohort.criteria import (
    CorrelatedCriterion,
    CriteriaGroup,
    Criterion,
    DateField,
    Period,
)
from bmb.domain.cohort.errors import CohortDefinitionError
from bmb.domain.cohort.values import CodesetIn


@dataclass(frozen=True, slots=True)
class ConceptSetItem:
    """One concept of a concept set and how it expands."""

    concept_id: int
    include_descendants: bool = False
    include_mapped: bool = False
    is_excluded: bool = False
    concept_name: str | None = None


@dataclass(frozen=True, slots=True)
class ConceptSet:
    """Named concepts: included ones, with descendants or mapped source codes, minus exclusions."""

    id: int
    name: str
    items: tuple[ConceptSetItem, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "items", tuple(self.items))
        if self.id < 0:
            raise CohortDefinitionError(f"concept set id must be zero or more, not {self.id}")


class Limit(StrEnum):
    """Which events per person a step keeps."""

    FIRST = "first"
    LAST = "last"
    ALL = "all"


@dataclass(frozen=True, slots=True)
class PrimaryCriteria:
    """Entry events: any of ``criteria``, with observation before and after, then a limit."""

    criteria: tuple[Criterion, ...]
    prior_days: int = 0
    post_days: int = 0
    limit: Limit = Limit.ALL

    def __post_init__(self) -> None:
        object.__setattr__(self, "criteria", tuple(self.criteria))
        object.__setattr__(self, "limit", Limit(self.limit))
        if not self.criteria:
            raise CohortDefinitionError("at least one entry event criterion is required")
        if self.prior_days < 0 or self.post_days < 0:
            raise CohortDefinitionError("observation days before and after must be zero or more")


@dataclass(frozen=True, slots=True)
class InclusionRule:
    """A named criteria group every cohort event must satisfy; counted in the attrition."""

    name: str
    group: CriteriaGroup
    description: str = ""


@dataclass(frozen=True, slots=True)
class DateOffsetExit:
    """Exit ``offset`` days after the event's start or end date (never past observation end)."""

    date_field: DateField = DateField.START_DATE
    offset: int = 0


@dataclass(frozen=True, slots=True)
class DrugExposureExit:
    """Exit at the end of continuous exposure to a concept set's drugs.

    Exposures closer than ``gap_days`` are one era; the exit is the era's end plus
    ``offset`` (persistence window). ``days_supply_override`` replaces every exposure's
    duration.
    """

    codeset_id: int
    gap_days: int = 0
    offset: int = 0
    days_supply_override: int | None = None


#: How a cohort period ends; ``None`` in a definition means the end of observation.
ExitStrategy = DateOffsetExit | DrugExposureExit


@dataclass(frozen=True, slots=True)
class CohortDefinition:
    """A whole cohort definition, validated on construction."""

    primary: PrimaryCriteria
    concept_sets: tuple[ConceptSet, ...] = ()
    additional: CriteriaGroup | None = None
    qualified_limit: Limit = Limit.FIRST
    inclusion_rules: tuple[InclusionRule, ...] = ()
    expression_limit: Limit = Limit.FIRST
    exit: ExitStrategy | None = None
    censoring: tuple[Criterion, ...] = ()
    era_pad: int = 0
    censor_window: Period | None = None
    name: str = ""
    description: str = ""

    def __post_init__(self) -> None:
        for attr in ("concept_sets", "inclusion_rules", "censoring"):
            object.__setattr__(self, attr, tuple(getattr(self, attr)))
        # The qualified limit only acts on additional criteria; without them it is
        # meaningless, so it is normalized (two equal cohorts compare equal).
        qualified = Limit(self.qualified_limit) if self.additional is not None else Limit.FIRST
        object.__setattr__(self, "qualified_limit", qualified)
        object.__setattr__(self, "expression_limit", Limit(self.expression_limit))
        if self.era_pad < 0:
            raise CohortDefinitionError(f"era pad must be zero or more days, not {self.era_pad}")
        ids = [cs.id for cs in self.concept_sets]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise CohortDefinitionError(f"concept set ids used twice: {dup}")
        known = set(ids)
        for where, cid in self.codeset_references():
            if cid not in known:
                raise CohortDefinitionError(
                    f"{where} refers to concept set {cid}, which the definition does not define"
                )

    def concept_set(self, codeset_id: int) -> ConceptSet:
        for cs in self.concept_sets:
            if cs.id == codeset_id:
                return cs
        raise KeyError(codeset_id)

    def codeset_references(self) -> Iterator[tuple[str, int]]:
        """Every concept set id the definition uses, with where it is used."""
        for i, c in enumerate(self.primary.criteria):
            yield from _criterion_refs(c, f"entry criterion {i}")
        if self.additional is not None:
            yield from _group_refs(self.additional, "additional criteria")
        for i, rule in enumerate(self.inclusion_rules):
            yield from _group_refs(rule.group, f"inclusion rule {i} ({rule.name})")
        for i, c in enumerate(self.censoring):
            yield from _criterion_refs(c, f"censoring criterion {i}")
        if isinstance(self.exit, DrugExposureExit):
            yield "drug exposure exit", self.exit.codeset_id

    @property
    def rule_names(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.inclusion_rules)


def _criterion_refs(c: Criterion, where: str) -> Iterator[tuple[str, int]]:
    if c.codeset_id is not None:
        yield f"{where} ({c.domain.value})", c.codeset_id
    if c.source_codeset_id is not None:
        yield f"{where} ({c.domain.value} source)", c.source_codeset_id
    for f in c.filters:
        if isinstance(f.test, CodesetIn):
            yield f"{where} ({c.domain.value}.{f.attribute})", f.test.codeset_id
    if c.correlated is not None:
        yield from _group_refs(c.correlated, f"{where} correlated criteria")


def _group_refs(g: CriteriaGroup, where: str) -> Iterator[tuple[str, int]]:
    for i, cc in enumerate(g.criteria):
        yield from _correlated_refs(cc, f"{where} criterion {i}")
    for i, sub in enumerate(g.groups):
        yield from _group_refs(sub, f"{where} group {i}")


def _correlated_refs(cc: CorrelatedCriterion, where: str) -> Iterator[tuple[str, int]]:
    yield from _criterion_refs(cc.criterion, where)
