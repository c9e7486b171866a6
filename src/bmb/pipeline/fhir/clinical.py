"""Encounters, conditions, procedures and allergies into the CDM.

Each mapper checks its records (subject, dates, code), marks the ones deliberately
left out as control records, and writes one CDM row per remaining record. Row ids
are hashes of the resource type and logical id, like the flows' ids of their source
keys, so a re-run writes the same rows and a resource sent again later (an update)
replaces its row (:func:`write_rows`).
"""

from __future__ import annotations

from bmb.domain import concepts as std
from bmb.pipeline.batch import Batch
from bmb.pipeline.fhir.checks import check_code, check_date, check_subject, control, flag, mapped
from bmb.pipeline.fhir.codes import choose_codes
from bmb.pipeline.fhir.lakeio import current_ids
from bmb.pipeline.fhir.references import care_site_id, visit_concept, visit_id
from bmb.pipeline.maps.common import row_id


def context(view: str, chosen: str | None = None) -> str:
    """FROM clause of a view's mapped records with person, visit, provider and code.

    Aliases: ``v`` the view row, ``r`` the staged record, ``rp`` the person, ``rv`` the
    visit, ``rpr`` the provider, ``c`` the chosen code and ``m`` its concepts.
    """
    sql = (
        f"{mapped(view)} JOIN _ref_patient rp ON rp.ref = v.patient "
        "LEFT JOIN _ref_visit rv ON rv.ref = v.encounter "
        "LEFT JOIN _ref_provider rpr ON rpr.ref = v.provider"
    )
    if chosen is not None:
        sql += (
            f" JOIN {chosen} c ON c.record = v.record LEFT JOIN _code_map m "
            "ON m.vocabulary_id = c.vocabulary_id AND m.code = c.code"
        )
    return sql


def write_rows(
    b: Batch,
    qname: str,
    id_col: str,
    columns: dict[str, str],
    from_sql: str,
    events: tuple[str, str],
) -> int:
    """Write rows; rows of the lake with the same id (an earlier version) are replaced.

    Only ids already in the table are replaced, so a first ingestion costs no delete.
    ``events`` names the written start and end date columns: each row's dates are kept
    (from the file just written) for the EHR span of FHIR-only persons.
    """
    n = b.write(qname, columns, from_sql)
    if n:
        w = b.writes[-1]
        overlap = current_ids(b, qname, id_col, w.files[0])
        if overlap:
            w.replace_column, w.replace_values = id_col, overlap
        start, end = events
        b.con.execute(
            f"INSERT INTO _ehr_events SELECT person_id, {start}, coalesce({end}, {start}) "
            f"FROM read_parquet('{w.files[0]}')"
        )
    return n


# -- Encounter --------------------------------------------------------------------------


def check_encounters(b: Batch, v: str) -> None:
    control(b, v, "status IN ('entered-in-error', 'cancelled', 'planned')", "not_happened")
    check_subject(b, v, "subject")
    check_date(b, v, "start", "period.start")
    check_date(b, v, '"end"', "period.end", required=False)
    # By day, as the flows compare admission and discharge: a same-day end written
    # before the start (a clock slip) keeps the visit, ending when it starts.
    flag(
        b,
        f'SELECT record, "end" AS detail FROM {v} WHERE fhir_date("end") < fhir_date(start)',
        "period.end",
        "inconsistent_dates",
    )
    b.con.execute(
        "CREATE OR REPLACE TEMP TABLE _fhir_visits AS SELECT visit_id FROM _known_fhir_visits "
        f"UNION SELECT {visit_id('r._key')} {mapped(v)}"
    )


def map_encounters(b: Batch, v: str) -> None:
    src = (
        f"{mapped(v)} JOIN _ref_patient rp ON rp.ref = v.patient "
        "LEFT JOIN _ref_provider rpr ON rpr.ref = v.provider "
        "LEFT JOIN _ref_org ro ON ro.ref = v.organization"
    )
    start, end = "fhir_date(v.start)", 'coalesce(fhir_date(v."end"), fhir_date(v.start))'
    write_rows(
        b,
        "cdm.visit_occurrence",
        "visit_occurrence_id",
        {
            "visit_occurrence_id": visit_id("r._key"),
            "person_id": "rp.person_id",
            "visit_concept_id": visit_concept("v.class_code"),
            "visit_start_date": start,
            "visit_start_datetime": "fhir_ts(v.start)",
            "visit_end_date": end,
            "visit_end_datetime": 'greatest(fhir_ts(v."end"), fhir_ts(v.start))',
            "visit_type_concept_id": str(std.TYPE_EHR),
            "provider_id": "rpr.provider_id",
            "care_site_id": "ro.care_site_id",
            "visit_source_value": "v.class_code",
            "admitted_from_concept_id": "0",
            "admitted_from_source_value": "v.admit_source",
            "discharged_to_concept_id": "0",
            "discharged_to_source_value": "v.discharge_disposition",
        },
        src,
        events=("visit_start_date", "visit_end_date"),
    )
    b.con.execute(f"INSERT INTO _known_fhir_visits SELECT {visit_id('r._key')} {mapped(v)}")


# -- Organization -----------------------------------------------------------------------


def map_organizations(b: Batch, v: str) -> None:
    cid = care_site_id("r._key")
    b.write(
        "cdm.care_site",
        {
            "care_site_id": cid,
            "care_site_name": "v.name",
            "place_of_service_concept_id": "0",
            "care_site_source_value": "'Organization/' || r._key",
            "place_of_service_source_value": "v.type_code",
        },
        f"{mapped(v)} WHERE {cid} NOT IN (SELECT care_site_id FROM _known_care_sites)",
    )
    b.con.execute(
        f"INSERT INTO _known_care_sites SELECT DISTINCT {cid} {mapped(v)} "
        f"AND {cid} NOT IN (SELECT care_site_id FROM _known_care_sites)"
    )


# -- Condition --------------------------------------------------------------------------

_ONSET = "coalesce(onset, onset_start, recorded)"


def check_conditions(b: Batch, v: str) -> None:
    control(
        b,
        v,
        "verification_status IN ('entered-in-error', 'refuted')",
        "entered_in_error_or_refuted",
    )
    check_subject(b, v, "subject")
    choose_codes(b, v, "Condition", "_code_condition")
    check_code(b, v, "_code_condition", "code")
    check_date(b, v, _ONSET, "onset")
    check_date(b, v, "coalesce(abatement, abatement_end)", "abatement", required=False)


def map_conditions(b: Batch, v: str) -> None:
    src = context(v, "_code_condition")
    onset = "coalesce(v.onset, v.onset_start, v.recorded)"
    start = f"fhir_date({onset})"
    end = "fhir_date(coalesce(v.abatement, v.abatement_end))"
    write_rows(
        b,
        "cdm.condition_occurrence",
        "condition_occurrence_id",
        {
            "condition_occurrence_id": row_id("'FHIR'", "'Condition'", "r._key"),
            "person_id": "rp.person_id",
            "condition_concept_id": "coalesce(m.concept_id, 0)",
            "condition_start_date": start,
            "condition_start_datetime": f"fhir_ts({onset})",
            "condition_end_date": f"CASE WHEN {end} >= {start} THEN {end} END",
            "condition_type_concept_id": str(std.TYPE_EHR),
            "condition_status_concept_id": "0",
            "provider_id": "rpr.provider_id",
            "visit_occurrence_id": "rv.visit_id",
            "condition_source_value": "c.source_value",
            "condition_source_concept_id": "coalesce(m.source_concept_id, 0)",
            "condition_status_source_value": "v.clinical_status",
        },
        src,
        events=("condition_start_date", "condition_end_date"),
    )


# -- Procedure --------------------------------------------------------------------------

_PERFORMED = "coalesce(performed, performed_start)"


def check_procedures(b: Batch, v: str) -> None:
    control(b, v, "status IN ('entered-in-error', 'not-done')", "not_happened")
    check_subject(b, v, "subject")
    choose_codes(b, v, "Procedure", "_code_procedure")
    check_code(b, v, "_code_procedure", "code")
    check_date(b, v, _PERFORMED, "performed")


def map_procedures(b: Batch, v: str) -> None:
    src = context(v, "_code_procedure")
    start = "fhir_date(coalesce(v.performed, v.performed_start))"
    end = "fhir_date(v.performed_end)"
    write_rows(
        b,
        "cdm.procedure_occurrence",
        "procedure_occurrence_id",
        {
            "procedure_occurrence_id": row_id("'FHIR'", "'Procedure'", "r._key"),
            "person_id": "rp.person_id",
            "procedure_concept_id": "coalesce(m.concept_id, 0)",
            "procedure_date": start,
            "procedure_datetime": "fhir_ts(coalesce(v.performed, v.performed_start))",
            "procedure_end_date": f"CASE WHEN {end} >= {start} THEN {end} END",
            "procedure_end_datetime": (
                f"CASE WHEN {end} >= {start} THEN fhir_ts(v.performed_end) END"
            ),
            "procedure_type_concept_id": str(std.TYPE_EHR),
            "provider_id": "rpr.provider_id",
            "visit_occurrence_id": "rv.visit_id",
            "procedure_source_value": "c.source_value",
            "procedure_source_concept_id": "coalesce(m.source_concept_id, 0)",
        },
        src,
        events=("procedure_date", "procedure_end_date"),
    )


# -- AllergyIntolerance -----------------------------------------------------------------

_RECORDED = "coalesce(onset, onset_start, recorded)"


def check_allergies(b: Batch, v: str) -> None:
    control(
        b,
        v,
        "verification_status IN ('entered-in-error', 'refuted')",
        "entered_in_error_or_refuted",
    )
    check_subject(b, v, "patient")
    choose_codes(b, v, "AllergyIntolerance", "_code_allergy")
    check_code(b, v, "_code_allergy", "code")
    check_date(b, v, _RECORDED, "onset")


def map_allergies(b: Batch, v: str) -> None:
    src = context(v, "_code_allergy")
    start = "fhir_date(coalesce(v.onset, v.onset_start, v.recorded))"
    write_rows(
        b,
        "cdm.observation",
        "observation_id",
        {
            "observation_id": row_id("'FHIR'", "'AllergyIntolerance'", "r._key"),
            "person_id": "rp.person_id",
            "observation_concept_id": "coalesce(m.concept_id, 0)",
            "observation_date": start,
            "observation_datetime": "fhir_ts(coalesce(v.onset, v.onset_start, v.recorded))",
            "observation_type_concept_id": str(std.TYPE_EHR),
            "value_as_string": "concat_ws(' ', v.kind, v.category, v.criticality)",
            "qualifier_source_value": "v.clinical_status",
            "provider_id": "rpr.provider_id",
            "visit_occurrence_id": "rv.visit_id",
            "observation_source_value": "c.source_value",
            "observation_source_concept_id": "coalesce(m.source_concept_id, 0)",
            "value_source_value": "v.reaction",
        },
        src,
        events=("observation_date", "observation_date"),
    )
