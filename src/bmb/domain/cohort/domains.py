"""The CDM domains an event can come from, and what can be filtered on each.

Every criterion of a cohort names a domain (a CDM event table) and filters on named
attributes. This catalog is the contract between the model, which validates a
criterion against it, and the compiler, which knows how each attribute reads from the
CDM. Attribute names are BMB's, chosen to read well in YAML; the Circe (ATLAS) import
maps each Circe attribute onto one of them (docs/reference/cohort-model.md has the
table).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType


class Domain(StrEnum):
    """A CDM table whose rows are events with a person, a start and an end."""

    CONDITION_OCCURRENCE = "condition_occurrence"
    CONDITION_ERA = "condition_era"
    DEATH = "death"
    DEVICE_EXPOSURE = "device_exposure"
    DOSE_ERA = "dose_era"
    DRUG_ERA = "drug_era"
    DRUG_EXPOSURE = "drug_exposure"
    MEASUREMENT = "measurement"
    OBSERVATION = "observation"
    OBSERVATION_PERIOD = "observation_period"
    PAYER_PLAN_PERIOD = "payer_plan_period"
    PROCEDURE_OCCURRENCE = "procedure_occurrence"
    SPECIMEN = "specimen"
    VISIT_OCCURRENCE = "visit_occurrence"
    VISIT_DETAIL = "visit_detail"


class AttrKind(StrEnum):
    """The kind of test an attribute accepts."""

    NUMERIC = "numeric"  # NumericRange
    DATE = "date"  # DateRange
    TEXT = "text"  # TextFilter
    CONCEPTS = "concepts"  # ConceptIn (a fixed list) or CodesetIn (a concept set)
    FLAG = "flag"  # Flag


@dataclass(frozen=True, slots=True)
class DomainSpec:
    """What a criterion on one domain may use."""

    domain: Domain
    codeset: bool  # the event's standard concept can be matched to a concept set
    source_codeset: bool  # the event's source concept can be matched to a concept set
    first: bool  # "first occurrence in the person's history" is defined
    attributes: Mapping[str, AttrKind]


_N, _D, _T, _C, _F = (
    AttrKind.NUMERIC,
    AttrKind.DATE,
    AttrKind.TEXT,
    AttrKind.CONCEPTS,
    AttrKind.FLAG,
)

_PERSON = {"age": _N, "gender": _C}
_ERA_PERSON = {"age_at_start": _N, "age_at_end": _N, "gender": _C}
_CONTEXT = {"visit_concept": _C, "provider_specialty": _C}
_SPAN = {"start_date": _D, "end_date": _D}


def _spec(
    domain: Domain,
    attrs: Mapping[str, AttrKind],
    *,
    codeset: bool = True,
    source_codeset: bool = True,
    first: bool = True,
) -> DomainSpec:
    return DomainSpec(domain, codeset, source_codeset, first, MappingProxyType(dict(attrs)))


_SPECS = (
    _spec(
        Domain.CONDITION_OCCURRENCE,
        {
            **_SPAN,
            **_PERSON,
            **_CONTEXT,
            "type": _C,
            "stop_reason": _T,
            "condition_status": _C,
        },
    ),
    _spec(
        Domain.CONDITION_ERA,
        {**_SPAN, **_ERA_PERSON, "occurrence_count": _N, "length": _N},
        source_codeset=False,
    ),
    _spec(
        Domain.DEATH,
        {"start_date": _D, **_PERSON, "type": _C},
        first=False,
    ),
    _spec(
        Domain.DEVICE_EXPOSURE,
        {**_SPAN, **_PERSON, **_CONTEXT, "type": _C, "unique_device_id": _T, "quantity": _N},
    ),
    _spec(
        Domain.DOSE_ERA,
        {**_SPAN, **_ERA_PERSON, "unit": _C, "dose_value": _N, "length": _N},
        source_codeset=False,
    ),
    _spec(
        Domain.DRUG_ERA,
        {**_SPAN, **_ERA_PERSON, "occurrence_count": _N, "gap_days": _N, "length": _N},
        source_codeset=False,
    ),
    _spec(
        Domain.DRUG_EXPOSURE,
        {
            **_SPAN,
            **_PERSON,
            **_CONTEXT,
            "type": _C,
            "stop_reason": _T,
            "refills": _N,
            "quantity": _N,
            "days_supply": _N,
            "route": _C,
            "effective_drug_dose": _N,
            "dose_unit": _C,
            "lot_number": _T,
        },
    ),
    _spec(
        Domain.MEASUREMENT,
        {
            "start_date": _D,
            **_PERSON,
            **_CONTEXT,
            "type": _C,
            "operator": _C,
            "value_as_number": _N,
            "value_as_concept": _C,
            "unit": _C,
            "range_low": _N,
            "range_high": _N,
            "range_low_ratio": _N,
            "range_high_ratio": _N,
            "abnormal": _F,
        },
    ),
    _spec(
        Domain.OBSERVATION,
        {
            "start_date": _D,
            **_PERSON,
            **_CONTEXT,
            "type": _C,
            "value_as_number": _N,
            "value_as_string": _T,
            "value_as_concept": _C,
            "qualifier": _C,
            "unit": _C,
        },
    ),
    _spec(
        Domain.OBSERVATION_PERIOD,
        {**_SPAN, "age_at_start": _N, "age_at_end": _N, "type": _C, "length": _N},
        codeset=False,
        source_codeset=False,
    ),
    _spec(
        Domain.PAYER_PLAN_PERIOD,
        {
            **_SPAN,
            **_ERA_PERSON,
            "length": _N,
            "payer": _C,
            "plan": _C,
            "sponsor": _C,
            "stop_reason_concept": _C,
        },
        codeset=False,
        source_codeset=False,
    ),
    _spec(
        Domain.PROCEDURE_OCCURRENCE,
        {"start_date": _D, **_PERSON, **_CONTEXT, "type": _C, "modifier": _C, "quantity": _N},
    ),
    _spec(
        Domain.SPECIMEN,
        {
            "start_date": _D,
            **_PERSON,
            "type": _C,
            "quantity": _N,
            "unit": _C,
            "anatomic_site": _C,
            "disease_status": _C,
            "source_id": _T,
        },
        source_codeset=False,
    ),
    _spec(
        Domain.VISIT_OCCURRENCE,
        {
            **_SPAN,
            **_PERSON,
            "type": _C,
            "length": _N,
            "place_of_service": _C,
            "provider_specialty": _C,
        },
    ),
    _spec(
        Domain.VISIT_DETAIL,
        {
            **_SPAN,
            **_PERSON,
            "type": _C,
            "length": _N,
            "place_of_service": _C,
            "provider_specialty": _C,
        },
    ),
)

#: Every domain and what a criterion on it may use.
DOMAINS: Mapping[Domain, DomainSpec] = MappingProxyType({s.domain: s for s in _SPECS})
