"""Medication requests, dispenses, statements and immunizations into drug_exposure.

Each resource is one drug exposure, typed by what it records: a prescription (EHR
prescription), a dispensing (EHR dispensing record), a medication list entry (EHR)
or a vaccine given (EHR administration record). The drug is the resource's own code
or, for ``medicationReference``, the code of the Medication it names in the same batch.
The exposure ends at the end the source states (validity or effective period), else
after its days of supply, else on its start day. For an Italian AIC pack without a
stated supply, quantity and days come from BMB's AIC table, as for Flusso D.
"""

from __future__ import annotations

from dataclasses import dataclass

from bmb.domain import concepts as std
from bmb.pipeline.batch import Batch, q
from bmb.pipeline.fhir.checks import check_code, check_date, check_subject, control, flag
from bmb.pipeline.fhir.clinical import context, write_rows
from bmb.pipeline.fhir.codes import choose_codes
from bmb.pipeline.fhir.references import keyed
from bmb.pipeline.fhir.stage import TABLE
from bmb.pipeline.maps.common import row_id


@dataclass(frozen=True, slots=True)
class DrugSource:
    """How one resource type becomes drug exposures."""

    view: str
    resource_type: str
    start: tuple[str, ...]  # view columns giving the start, first present wins
    end: str | None  # view column of a stated end
    type_concept: int
    not_happened: str  # statuses that are control records
    subject_field: str


SOURCES = (
    DrugSource(
        "medication_request",
        "MedicationRequest",
        ("authored", "validity_start"),
        "validity_end",
        std.TYPE_EHR_PRESCRIPTION,
        "('entered-in-error', 'cancelled', 'draft')",
        "subject",
    ),
    DrugSource(
        "medication_dispense",
        "MedicationDispense",
        ("handed_over", "prepared"),
        None,
        std.TYPE_EHR_DISPENSING,
        "('entered-in-error', 'cancelled', 'declined')",
        "subject",
    ),
    DrugSource(
        "medication_statement",
        "MedicationStatement",
        ("effective", "effective_start", "asserted"),
        "effective_end",
        std.TYPE_EHR,
        "('entered-in-error', 'not-taken')",
        "subject",
    ),
    DrugSource(
        "immunization",
        "Immunization",
        ("occurrence", "recorded"),
        None,
        std.TYPE_EHR_ADMINISTRATION,
        "('entered-in-error', 'not-done')",
        "patient",
    ),
)


def _coded(b: Batch, s: DrugSource, v: str) -> str:
    """The view's codings, or those of the Medication it references.

    A ``medicationReference`` names a Medication of the same batch (``Medication/x``,
    a Bundle's ``urn:uuid:``) or one contained in the resource (``#x``, read from the
    staged JSON: the compiled path does not navigate ``contained``).
    """
    table = f"_coded_{s.view}"
    if s.view == "immunization":
        return v
    own = "code IS NOT NULL OR code_text IS NOT NULL"
    referring = (
        f"(SELECT DISTINCT record, medication FROM {v} WHERE medication IS NOT NULL "
        f"AND NOT ({own}))"
    )
    contained = (
        "(SELECT x.record, unnest(CAST(json_extract(r.text, '$.contained') AS JSON[])) AS m, "
        f"substr(x.medication, 2) AS cid FROM {referring} x JOIN {TABLE} r "
        "ON r._record = x.record WHERE x.medication LIKE '#%')"
    )
    matched = (
        "(SELECT record, m, unnest(range(CAST(greatest(1, coalesce(json_array_length(m, "
        f"'$.code.coding'), 0)) AS BIGINT))) AS i FROM {contained} WHERE "
        "json_extract_string(m, '$.resourceType') = 'Medication' "
        "AND json_extract_string(m, '$.id') = cid)"
    )
    coding = "concat('$.code.coding[', i, '].{}')"
    b.con.execute(
        f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT record, coding_index, system, code, "
        f"display, code_text FROM {v} WHERE medication IS NULL OR {own} "
        "UNION ALL SELECT x.record, m.coding_index, m.system, m.code, m.display, m.code_text "
        f"FROM {referring} x JOIN ({keyed(f'SELECT medication AS ref FROM {v}', 'Medication')}) "
        f"mk ON mk.ref = x.medication JOIN {TABLE} r ON r.rtype = 'Medication' "
        "AND r.fhir_id = mk.k AND r._ok JOIN v_medication m ON m.record = r._record "
        "UNION ALL SELECT record, i, "
        + ", ".join(
            f"json_extract_string(m, {coding.format(f)})" for f in ("system", "code", "display")
        )
        + f", json_extract_string(m, '$.code.text') FROM {matched}"
    )
    return table


def check_drugs(b: Batch, views: dict[str, str]) -> None:
    for s in SOURCES:
        v = views[s.view]
        control(b, v, f"status IN {s.not_happened}", "not_happened")
        check_subject(b, v, s.subject_field)
        chosen = f"_code_{s.view}"
        choose_codes(b, _coded(b, s, v), s.resource_type, chosen)
        if s.view != "immunization":
            flag(
                b,
                f"SELECT v.record, v.medication AS detail FROM {v} v LEFT JOIN {chosen} c "
                "ON c.record = v.record WHERE c.source_value IS NULL AND v.medication IS NOT NULL",
                "medication",
                "unknown_reference",
            )
        check_code(b, v, chosen, "medication" if s.view != "immunization" else "vaccineCode")
        check_date(b, v, _coalesce(s.start), "date")


def _coalesce(columns: tuple[str, ...], alias: str = "") -> str:
    return "coalesce(" + ", ".join(alias + c for c in columns) + ")"


def _days(unit: str, value: str) -> str:
    """Days of a FHIR duration (UCUM d, wk, mo; a bare number counts as days)."""
    return (
        f"CASE WHEN {value} IS NULL THEN NULL WHEN {unit} IN ('wk', 'week', 'weeks') "
        f"THEN {value} * 7 WHEN {unit} IN ('mo', 'month', 'months') THEN {value} * 30 "
        f"WHEN {unit} IS NULL OR {unit} IN ('d', 'day', 'days') THEN {value} END"
    )


def map_drugs(b: Batch, views: dict[str, str]) -> None:
    for s in SOURCES:
        v = views[s.view]
        src = (
            context(v, f"_code_{s.view}")
            + " LEFT JOIN _aic a ON c.vocabulary_id = 'AIC' AND a.aic = c.code"
        )
        start = f"fhir_date({_coalesce(s.start, 'v.')})"
        stated = "NULL::DATE" if s.end is None else f"fhir_date(v.{s.end})"
        if s.view in ("medication_request", "medication_dispense"):
            supply = _days("v.supply_unit", "v.supply_value")
            qty = "v.quantity"
        elif s.view == "immunization":
            supply, qty = "NULL", "v.dose"
        else:
            supply, qty = "NULL", "NULL"
        days = (
            f"CAST(round(coalesce({supply}, {qty} * a.ddd_per_pack)) AS INTEGER)"
            if s.view == "medication_dispense"
            else f"CAST(round({supply}) AS INTEGER)"
        )
        days = f"CASE WHEN {days} >= 1 THEN {days} END"
        end = (
            f"coalesce(CASE WHEN {stated} >= {start} THEN {stated} END, "
            f"{start} + ({days} - 1), {start})"
        )
        quantity = f"CASE WHEN a.aic IS NOT NULL THEN {qty} * a.pack_units ELSE {qty} END"
        columns = {
            "drug_exposure_id": row_id("'FHIR'", q(s.resource_type), "r._key"),
            "person_id": "rp.person_id",
            "drug_concept_id": "coalesce(m.concept_id, 0)",
            "drug_exposure_start_date": start,
            "drug_exposure_start_datetime": f"fhir_ts({_coalesce(s.start, 'v.')})",
            "drug_exposure_end_date": end,
            "verbatim_end_date": stated,
            "drug_type_concept_id": str(s.type_concept),
            "stop_reason": "CASE WHEN v.status = 'stopped' THEN 'stopped' END",
            "quantity": quantity if s.view != "medication_statement" else "NULL",
            "days_supply": days,
            "provider_id": "rpr.provider_id",
            "visit_occurrence_id": "rv.visit_id",
            "drug_source_value": "c.source_value",
            "drug_source_concept_id": "coalesce(m.source_concept_id, 0)",
            "route_source_value": "v.route",
        }
        if s.view == "medication_request":
            columns["refills"] = "v.refills"
        if s.view != "immunization":
            columns["sig"] = "v.sig"
        else:
            columns["lot_number"] = "v.lot"
            columns["dose_unit_source_value"] = "v.dose_unit"
        dates = ("drug_exposure_start_date", "drug_exposure_end_date")
        write_rows(b, "cdm.drug_exposure", "drug_exposure_id", columns, src, events=dates)
