"""Patients to persons and deaths, Practitioners to providers, EHR spans to periods.

A Patient with an Italian identifier proposes its person with a low priority: the
registry's and the flows' word on sex, birth and residence wins, and a resident's
Patient lands on the registry's ``person_id`` (no new person). A Patient identified
otherwise (a Synthea patient, a foreign export) is a person of its own, proposed
with the priority of the flows' own demographics. A new person needs a birth date
(``year_of_birth`` is required): a Patient the lake does not know without one is
quarantined. ``deceasedDateTime`` proposes a death (type EHR); ``deceasedBoolean``
without a date cannot (``death_date`` is required) and is left out.

People the registry covers get their observation periods from it. People known only
through FHIR identifiers get one from their EHR: from their first to their last
event in the lake, so every such person has a period covering all their records.
"""

from __future__ import annotations

from bmb.domain import concepts as std
from bmb.domain.identity import IdKind
from bmb.pipeline.batch import Batch, q
from bmb.pipeline.fhir.checks import DATE_CEILING, DATE_FLOOR, flag
from bmb.pipeline.fhir.identity import identify

#: Person proposal priorities (1 is the registry; see bmb.pipeline.finalize).
PRIORITY_ITALIAN = 8  # below every flow: the flows' demographics win
PRIORITY_OWN = 5  # a person only FHIR knows: as the flows' own demographics


def map_patients(b: Batch, views: dict[str, str]) -> None:
    """Identify Patients, check them, and propose their persons, keys and deaths."""
    who = identify(b, "Patient", views["patient_identifier"], strict=True)
    flag(
        b,
        f"SELECT record, reason AS detail FROM {who} WHERE reason = 'missing_identifier'",
        "identifier",
        "missing_identifier",
    )
    flag(
        b,
        f"SELECT record, 'no valid Italian identifier' AS detail FROM {who} "
        "WHERE reason IS NOT NULL",
        "identifier",
        "invalid_fiscal_code",
    )
    v = views["patient"]
    birth = "fhir_date(v.birth_date)"
    flag(
        b,
        f"SELECT v.record, v.birth_date AS detail FROM {v} v WHERE v.birth_date IS NOT NULL "
        f"AND {birth} IS NULL",
        "birthDate",
        "invalid_date",
    )
    flag(
        b,
        f"SELECT v.record, v.birth_date AS detail FROM {v} v WHERE {birth} < {DATE_FLOOR} "
        f"OR {birth} > current_date",
        "birthDate",
        "impossible_date",
    )
    flag(
        b,
        f"SELECT v.record, v.deceased_at AS detail FROM {v} v WHERE v.deceased_at IS NOT NULL "
        f"AND (fhir_date(v.deceased_at) IS NULL OR fhir_date(v.deceased_at) > {DATE_CEILING})",
        "deceasedDateTime",
        "invalid_date",
    )
    flag(
        b,
        f"SELECT v.record, NULL AS detail FROM {v} v JOIN {who} w ON w.record = v.record "
        f"WHERE v.birth_date IS NULL AND w.target_id NOT IN (SELECT person_id FROM "
        "_known_persons) AND w.target_id NOT IN (SELECT person_id FROM _person_candidates "
        f"WHERE birth_date IS NOT NULL) AND w.target_id NOT IN (SELECT w2.target_id FROM {v} v2 "
        f"JOIN {who} w2 ON w2.record = v2.record WHERE v2.birth_date IS NOT NULL "
        "AND w2.target_id IS NOT NULL)",
        "birthDate",
        "missing_value",
    )
    b.con.execute(f"DELETE FROM {who} WHERE record IN (SELECT _record FROM p_fhir WHERE NOT _ok)")
    ok = (
        f"FROM {v} v JOIN {who} w ON w.record = v.record JOIN p_fhir r ON r._record = v.record "
        "AND r._ok AND NOT r._skip"
    )
    italian = f"w.id_kind <> {q(IdKind.FHIR.value)}"
    with b.step("map"):
        b.con.execute(
            f"INSERT INTO _person_keys SELECT DISTINCT w.target_id, w.id_kind, w.pseudonym {ok}"
        )
        b.con.execute(
            "INSERT INTO _person_candidates SELECT w.target_id, CASE v.gender "
            "WHEN 'male' THEN 'M' WHEN 'female' THEN 'F' END, "
            f"{birth}, CASE WHEN regexp_full_match(v.comune, '[0-9]{{6}}') THEN v.comune END, "
            f"NULL, CASE WHEN {italian} THEN {PRIORITY_ITALIAN} ELSE {PRIORITY_OWN} END, "
            f"NULL {ok}"
        )
        b.con.execute(
            "INSERT INTO _death_candidates SELECT w.target_id, fhir_date(v.deceased_at), "
            f"{std.TYPE_EHR}, NULL, NULL, 3 {ok} AND v.deceased_at IS NOT NULL"
        )
        b.con.execute(
            "CREATE OR REPLACE TEMP TABLE _fhir_only_persons AS SELECT DISTINCT w.target_id "
            f"AS person_id {ok} AND NOT ({italian})"
        )


def map_practitioners(b: Batch, views: dict[str, str]) -> None:
    """Practitioners become providers (ids from their identifiers, as the flows')."""
    who = identify(b, "Practitioner", views["practitioner_identifier"], strict=False)
    v = views["practitioner"]
    with b.step("map"):
        b.con.execute(
            "INSERT INTO _provider_roles SELECT DISTINCT w.target_id, 0, "
            f"coalesce(v.specialty, 'practitioner') FROM {v} v JOIN {who} w "
            "ON w.record = v.record WHERE w.target_id IS NOT NULL"
        )


def ehr_spells(b: Batch, current_periods: str) -> None:
    """Observation periods of FHIR-only persons: first to last event, across batches."""
    fhir_only = (
        "(SELECT person_id FROM _fhir_only_persons UNION SELECT person_id FROM _fhir_persons)"
    )
    b.con.execute(
        "INSERT INTO _ehr_spells SELECT e.person_id, least(min(e.s), min(p.s)), "
        "greatest(max(e.e), max(p.e)) FROM (SELECT person_id, min(start_date) AS s, "
        f"max(greatest(start_date, end_date)) AS e FROM _ehr_events WHERE person_id IN {fhir_only} "
        "AND start_date IS NOT NULL GROUP BY 1) e LEFT JOIN (SELECT person_id, "
        "observation_period_start_date AS s, observation_period_end_date AS e FROM "
        f"{current_periods}) p ON p.person_id = e.person_id GROUP BY e.person_id"
    )
    b.con.execute(
        "INSERT INTO _fhir_persons SELECT person_id FROM _fhir_only_persons "
        "WHERE person_id NOT IN (SELECT person_id FROM _fhir_persons)"
    )
