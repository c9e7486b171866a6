"""The cohort query model: a frozen, validated description of a cohort.

Definitions are authored in Python (:mod:`bmb.domain.cohort.api`), in YAML
(:mod:`bmb.domain.cohort.mapping`) or imported from ATLAS/Circe JSON
(:mod:`bmb.domain.cohort.circe`); ``bmb.analytics.cohort`` compiles them to SQL for any
engine. The model is pure data: no SQL, no I/O.
"""

from __future__ import annotations

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
from bmb.domain.cohort.domains import DOMAINS, AttrKind, Domain, DomainSpec
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

__all__ = [
    "DOMAINS",
    "AttrKind",
    "CodesetIn",
    "CohortDefinition",
    "CohortDefinitionError",
    "ConceptIn",
    "ConceptSet",
    "ConceptSetItem",
    "CorrelatedCriterion",
    "CountColumn",
    "CriteriaGroup",
    "Criterion",
    "DateAdjustment",
    "DateField",
    "DateOffsetExit",
    "DateRange",
    "DemographicCriterion",
    "Domain",
    "DomainSpec",
    "DrugExposureExit",
    "ExitStrategy",
    "Filter",
    "Flag",
    "GroupType",
    "InclusionRule",
    "Limit",
    "NumericRange",
    "Occurrence",
    "OccurrenceType",
    "Period",
    "PrimaryCriteria",
    "RangeOp",
    "Test",
    "TextFilter",
    "TextOp",
    "Window",
    "WindowBound",
]
