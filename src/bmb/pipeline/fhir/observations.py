"""Observations into measurement or observation.

An Observation with components (a blood pressure panel: systolic and diastolic) is
one row per component, each with the component's code and value and the panel's
subject, date and encounter; the panel's own code is not a row (it has no value).
Any other Observation is one row. A row is a measurement when it has a numeric value
or the Observation's category is laboratory or vital-signs, otherwise an observation
(social history, surveys answered in words, ...). Laboratory results are typed Lab,
everything else EHR.
"""

from __future__ import annotations

from bmb.domain import concepts as std
from bmb.domain.codes import fhir as codes
from bmb.pipeline.batch import Batch, q
from bmb.pipeline.fhir.checks import check_code, check_date, check_subject, control, mapped
from bmb.pipeline.fhir.clinical import write_rows
from bmb.pipeline.fhir.codes import choose_codes
from bmb.pipeline.maps.common import row_id

_EFFECTIVE = "coalesce(effective, effective_start, effective_instant, issued)"
_VALUE_COLS = (
    "value_number, value_comparator, value_unit, value_unit_text, value_integer, "
    "value_string, value_boolean, value_system, value_code, value_text, range_low, range_high"
)


def check_observations(b: Batch, v: str, comp: str) -> None:
    control(b, v, "status IN ('entered-in-error', 'cancelled')", "not_happened")
    check_subject(b, v, "subject")
    choose_codes(b, v, "Observation", "_code_observation")
    check_code(b, v, "_code_observation", "code")
    check_date(b, v, _EFFECTIVE, "effective")
    choose_codes(b, comp, "Observation", "_code_component", by="record, component_index")
    # the domain a minted concept gets: where its rows go (see map_observations)
    first = f"(SELECT DISTINCT ON (record) * FROM {v} ORDER BY record)"
    b.con.execute(
        "CREATE OR REPLACE TEMP TABLE _code_observation AS SELECT c.*, CASE WHEN "
        f"{_is_measurement('o', 'o')} THEN 'Measurement' ELSE 'Observation' END AS domain_id "
        f"FROM _code_observation c JOIN {first} o ON o.record = c.record"
    )
    b.con.execute(
        "CREATE OR REPLACE TEMP TABLE _code_component AS SELECT c.*, CASE WHEN "
        f"{_is_measurement('p', 'o')} THEN 'Measurement' ELSE 'Observation' END AS domain_id "
        f"FROM _code_component c JOIN {first} o ON o.record = c.record JOIN "
        f"(SELECT DISTINCT ON (record, component_index) * FROM {comp} "
        "ORDER BY record, component_index) p ON p.record = c.record "
        "AND p.component_index = c.component_index"
    )


def _is_measurement(values: str, observation: str) -> str:
    """SQL: a row with ``values`` (alias) of an Observation (alias) is a measurement."""
    categories = "(" + ", ".join(q(c) for c in sorted(codes.MEASUREMENT_CATEGORIES)) + ")"
    return (
        f"({values}.value_number IS NOT NULL OR {values}.value_integer IS NOT NULL "
        f"OR {observation}.category IN {categories})"
    )


def _rows(v: str, comp: str) -> str:
    """One row per Observation without components and per component of the others."""
    return (
        f"SELECT o.record, NULL::BIGINT AS component_index, {_VALUE_COLS}, "
        "c.vocabulary_id, c.code, c.source_value "
        f"FROM (SELECT DISTINCT ON (record) * FROM {v} ORDER BY record) o "
        "JOIN _code_observation c ON c.record = o.record WHERE coalesce(o.components, 0) = 0 "
        "UNION ALL SELECT p.record, p.component_index, "
        f"{', '.join('p.' + c for c in _VALUE_COLS.split(', '))}, "
        "c.vocabulary_id, c.code, c.source_value "
        f"FROM (SELECT DISTINCT ON (record, component_index) * FROM {comp} "
        "ORDER BY record, component_index) p "
        "JOIN _code_component c ON c.record = p.record AND c.component_index = p.component_index"
    )


def map_observations(b: Batch, v: str, comp: str) -> None:
    b.con.execute(f"CREATE OR REPLACE TEMP TABLE _obs_rows AS {_rows(v, comp)}")
    is_measurement = _is_measurement("x", "v")
    src = (
        f"{mapped(v)} JOIN _obs_rows x ON x.record = v.record "
        "JOIN _ref_patient rp ON rp.ref = v.patient "
        "LEFT JOIN _ref_visit rv ON rv.ref = v.encounter "
        "LEFT JOIN _ref_provider rpr ON rpr.ref = v.provider "
        "LEFT JOIN _code_map m ON m.vocabulary_id = x.vocabulary_id AND m.code = x.code "
        "LEFT JOIN _fhir_systems vs ON vs.system = x.value_system "
        "LEFT JOIN _code_map vm ON vm.vocabulary_id = vs.vocabulary_id AND vm.code = x.value_code "
        "LEFT JOIN _code_map um ON um.vocabulary_id = 'UCUM' AND um.code = x.value_unit"
    )
    effective = "coalesce(v.effective, v.effective_start, v.effective_instant, v.issued)"
    date = f"fhir_date({effective})"
    ident = row_id("'FHIR'", "'Observation'", "r._key", "coalesce(x.component_index, -1)")
    operator = " ".join(f"WHEN {q(c)} THEN {o}" for c, o in codes.COMPARATOR_OPERATOR.items())
    value_text = (
        "coalesce(x.value_string, x.value_text, x.value_code, CAST(x.value_boolean AS VARCHAR))"
    )
    write_rows(
        b,
        "cdm.measurement",
        "measurement_id",
        {
            "measurement_id": ident,
            "person_id": "rp.person_id",
            "measurement_concept_id": "coalesce(m.concept_id, 0)",
            "measurement_date": date,
            "measurement_datetime": f"fhir_ts({effective})",
            "measurement_type_concept_id": (
                f"CASE WHEN v.category = 'laboratory' THEN {std.TYPE_LAB} ELSE {std.TYPE_EHR} END"
            ),
            "operator_concept_id": f"CASE x.value_comparator {operator} ELSE 0 END",
            "value_as_number": "coalesce(x.value_number, x.value_integer)",
            "value_as_concept_id": "coalesce(vm.concept_id, 0)",
            "unit_concept_id": "coalesce(um.concept_id, 0)",
            "range_low": "x.range_low",
            "range_high": "x.range_high",
            "provider_id": "rpr.provider_id",
            "visit_occurrence_id": "rv.visit_id",
            "measurement_source_value": "x.source_value",
            "measurement_source_concept_id": "coalesce(m.source_concept_id, 0)",
            "unit_source_value": "coalesce(x.value_unit, x.value_unit_text)",
            "value_source_value": (
                "coalesce(CAST(coalesce(x.value_number, x.value_integer) AS VARCHAR), "
                f"{value_text})"
            ),
        },
        f"{src} WHERE {is_measurement}",
        events=("measurement_date", "measurement_date"),
    )
    write_rows(
        b,
        "cdm.observation",
        "observation_id",
        {
            "observation_id": ident,
            "person_id": "rp.person_id",
            "observation_concept_id": "coalesce(m.concept_id, 0)",
            "observation_date": date,
            "observation_datetime": f"fhir_ts({effective})",
            "observation_type_concept_id": str(std.TYPE_EHR),
            "value_as_number": "coalesce(x.value_number, x.value_integer)",
            "value_as_string": value_text,
            "value_as_concept_id": "coalesce(vm.concept_id, 0)",
            "unit_concept_id": "coalesce(um.concept_id, 0)",
            "provider_id": "rpr.provider_id",
            "visit_occurrence_id": "rv.visit_id",
            "observation_source_value": "x.source_value",
            "observation_source_concept_id": "coalesce(m.source_concept_id, 0)",
            "unit_source_value": "coalesce(x.value_unit, x.value_unit_text)",
            "value_source_value": f"coalesce(x.value_code, {value_text})",
        },
        f"{src} WHERE NOT {is_measurement}",
        events=("observation_date", "observation_date"),
    )
