"""How each Circe criterion type and attribute maps onto BMB's domains and attributes.

The table is the Circe side of the coverage table in
``docs/reference/cohort-model.md``: one entry per Circe criterion class, naming the
domain, the source-concept attribute, the type attribute (with its ``...Exclude``
flag) and every other attribute with how its JSON value is read.
"""

from __future__ import annotations

from collections.abc import Mapping

from bmb.domain.cohort.domains import Domain

# How a Circe attribute is read.
NUM, DATE, TEXT, CONCEPTS, CODESET, FLAG = "num", "date", "text", "concepts", "cs", "flag"

_PERSON = {"Age": ("age", NUM), "Gender": ("gender", CONCEPTS), "GenderCS": ("gender", CODESET)}
_ERA_PERSON = {
    "AgeAtStart": ("age_at_start", NUM),
    "AgeAtEnd": ("age_at_end", NUM),
    "Gender": ("gender", CONCEPTS),
    "GenderCS": ("gender", CODESET),
}
_CONTEXT = {
    "VisitType": ("visit_concept", CONCEPTS),
    "VisitTypeCS": ("visit_concept", CODESET),
    "ProviderSpecialty": ("provider_specialty", CONCEPTS),
    "ProviderSpecialtyCS": ("provider_specialty", CODESET),
}
_OCCURRENCE = {
    "OccurrenceStartDate": ("start_date", DATE),
    "OccurrenceEndDate": ("end_date", DATE),
}
_ERA = {"EraStartDate": ("start_date", DATE), "EraEndDate": ("end_date", DATE)}


class Kind:
    """How one Circe criterion type maps onto a domain."""

    def __init__(
        self,
        domain: Domain,
        source_key: str | None,
        attrs: Mapping[str, tuple[str, str]],
        type_key: str | None = None,
    ) -> None:
        self.domain = domain
        self.source_key = source_key
        self.attrs = {k.lower(): v for k, v in attrs.items()}
        self.type_key = type_key


KINDS: dict[str, Kind] = {
    "conditionoccurrence": Kind(
        Domain.CONDITION_OCCURRENCE,
        "ConditionSourceConcept",
        {
            **_OCCURRENCE,
            **_PERSON,
            **_CONTEXT,
            "StopReason": ("stop_reason", TEXT),
            "ConditionStatus": ("condition_status", CONCEPTS),
            "ConditionStatusCS": ("condition_status", CODESET),
        },
        "ConditionType",
    ),
    "conditionera": Kind(
        Domain.CONDITION_ERA,
        None,
        {
            **_ERA,
            **_ERA_PERSON,
            "OccurrenceCount": ("occurrence_count", NUM),
            "EraLength": ("length", NUM),
        },
    ),
    "death": Kind(
        Domain.DEATH,
        "DeathSourceConcept",
        {"OccurrenceStartDate": ("start_date", DATE), **_PERSON},
        "DeathType",
    ),
    "deviceexposure": Kind(
        Domain.DEVICE_EXPOSURE,
        "DeviceSourceConcept",
        {
            **_OCCURRENCE,
            **_PERSON,
            **_CONTEXT,
            "UniqueDeviceId": ("unique_device_id", TEXT),
            "Quantity": ("quantity", NUM),
        },
        "DeviceType",
    ),
    "doseera": Kind(
        Domain.DOSE_ERA,
        None,
        {
            **_ERA,
            **_ERA_PERSON,
            "Unit": ("unit", CONCEPTS),
            "UnitCS": ("unit", CODESET),
            "DoseValue": ("dose_value", NUM),
            "EraLength": ("length", NUM),
        },
    ),
    "drugera": Kind(
        Domain.DRUG_ERA,
        None,
        {
            **_ERA,
            **_ERA_PERSON,
            "OccurrenceCount": ("occurrence_count", NUM),
            "GapDays": ("gap_days", NUM),
            "EraLength": ("length", NUM),
        },
    ),
    "drugexposure": Kind(
        Domain.DRUG_EXPOSURE,
        "DrugSourceConcept",
        {
            **_OCCURRENCE,
            **_PERSON,
            **_CONTEXT,
            "StopReason": ("stop_reason", TEXT),
            "Refills": ("refills", NUM),
            "Quantity": ("quantity", NUM),
            "DaysSupply": ("days_supply", NUM),
            "RouteConcept": ("route", CONCEPTS),
            "RouteConceptCS": ("route", CODESET),
            "EffectiveDrugDose": ("effective_drug_dose", NUM),
            "DoseUnit": ("dose_unit", CONCEPTS),
            "DoseUnitCS": ("dose_unit", CODESET),
            "LotNumber": ("lot_number", TEXT),
        },
        "DrugType",
    ),
    "measurement": Kind(
        Domain.MEASUREMENT,
        "MeasurementSourceConcept",
        {
            "OccurrenceStartDate": ("start_date", DATE),
            **_PERSON,
            **_CONTEXT,
            "Operator": ("operator", CONCEPTS),
            "OperatorCS": ("operator", CODESET),
            "ValueAsNumber": ("value_as_number", NUM),
            "ValueAsConcept": ("value_as_concept", CONCEPTS),
            "ValueAsConceptCS": ("value_as_concept", CODESET),
            "Unit": ("unit", CONCEPTS),
            "UnitCS": ("unit", CODESET),
            "RangeLow": ("range_low", NUM),
            "RangeHigh": ("range_high", NUM),
            "RangeLowRatio": ("range_low_ratio", NUM),
            "RangeHighRatio": ("range_high_ratio", NUM),
            "Abnormal": ("abnormal", FLAG),
        },
        "MeasurementType",
    ),
    "observation": Kind(
        Domain.OBSERVATION,
        "ObservationSourceConcept",
        {
            "OccurrenceStartDate": ("start_date", DATE),
            **_PERSON,
            **_CONTEXT,
            "ValueAsNumber": ("value_as_number", NUM),
            "ValueAsString": ("value_as_string", TEXT),
            "ValueAsConcept": ("value_as_concept", CONCEPTS),
            "ValueAsConceptCS": ("value_as_concept", CODESET),
            "Qualifier": ("qualifier", CONCEPTS),
            "QualifierCS": ("qualifier", CODESET),
            "Unit": ("unit", CONCEPTS),
            "UnitCS": ("unit", CODESET),
        },
        "ObservationType",
    ),
    "observationperiod": Kind(
        Domain.OBSERVATION_PERIOD,
        None,
        {
            "PeriodStartDate": ("start_date", DATE),
            "PeriodEndDate": ("end_date", DATE),
            "PeriodLength": ("length", NUM),
            "AgeAtStart": ("age_at_start", NUM),
            "AgeAtEnd": ("age_at_end", NUM),
            "PeriodTypeCS": ("type", CODESET),
        },
        "PeriodType",
    ),
    "payerplanperiod": Kind(
        Domain.PAYER_PLAN_PERIOD,
        None,
        {
            "PeriodStartDate": ("start_date", DATE),
            "PeriodEndDate": ("end_date", DATE),
            "PeriodLength": ("length", NUM),
            **_ERA_PERSON,
            "PayerConcept": ("payer", CODESET),
            "PlanConcept": ("plan", CODESET),
            "SponsorConcept": ("sponsor", CODESET),
            "StopReasonConcept": ("stop_reason_concept", CODESET),
        },
    ),
    "procedureoccurrence": Kind(
        Domain.PROCEDURE_OCCURRENCE,
        "ProcedureSourceConcept",
        {
            "OccurrenceStartDate": ("start_date", DATE),
            **_PERSON,
            **_CONTEXT,
            "Modifier": ("modifier", CONCEPTS),
            "ModifierCS": ("modifier", CODESET),
            "Quantity": ("quantity", NUM),
        },
        "ProcedureType",
    ),
    "specimen": Kind(
        Domain.SPECIMEN,
        None,
        {
            "OccurrenceStartDate": ("start_date", DATE),
            **_PERSON,
            "Quantity": ("quantity", NUM),
            "Unit": ("unit", CONCEPTS),
            "UnitCS": ("unit", CODESET),
            "AnatomicSite": ("anatomic_site", CONCEPTS),
            "AnatomicSiteCS": ("anatomic_site", CODESET),
            "DiseaseStatus": ("disease_status", CONCEPTS),
            "DiseaseStatusCS": ("disease_status", CODESET),
            "SourceId": ("source_id", TEXT),
        },
        "SpecimenType",
    ),
    "visitoccurrence": Kind(
        Domain.VISIT_OCCURRENCE,
        "VisitSourceConcept",
        {
            **_OCCURRENCE,
            **_PERSON,
            "VisitLength": ("length", NUM),
            "PlaceOfService": ("place_of_service", CONCEPTS),
            "PlaceOfServiceCS": ("place_of_service", CODESET),
            "ProviderSpecialty": ("provider_specialty", CONCEPTS),
            "ProviderSpecialtyCS": ("provider_specialty", CODESET),
            "VisitTypeCS": ("type", CODESET),
        },
        "VisitType",
    ),
    "visitdetail": Kind(
        Domain.VISIT_DETAIL,
        "VisitDetailSourceConcept",
        {
            "VisitDetailStartDate": ("start_date", DATE),
            "VisitDetailEndDate": ("end_date", DATE),
            "VisitDetailLength": ("length", NUM),
            **_PERSON,
            "PlaceOfServiceCS": ("place_of_service", CODESET),
            "ProviderSpecialtyCS": ("provider_specialty", CODESET),
            "VisitDetailTypeCS": ("type", CODESET),
        },
        "VisitDetailType",
    ),
}
