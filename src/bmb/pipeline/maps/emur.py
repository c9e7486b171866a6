"""EMUR-PS emergency visits: ER visits, their diagnoses and procedures, triage.

A visit ending in admission (outcome 2) names the SDO of the admission; its
``discharged_to`` is an inpatient visit, and the SDO's visit id can be computed from the
hospital and SDO number without waiting for the SDO flow.
"""

from __future__ import annotations

from bmb.domain import concepts as std
from bmb.pipeline.batch import Batch
from bmb.pipeline.maps.common import icd9_dx, row_id

VISIT_ID = row_id("'EMUR'", "r.identificativo", "r.erogatore_codice_istituto")


def _codes(col: str) -> str:
    return f"string_split(coalesce(r.{col}, ''), '|')"


def map_emur(b: Batch) -> None:
    t = "p_emur"
    b.flag_duplicates(t, ("identificativo", "erogatore_codice_istituto"))
    b.add_error(
        t,
        "(dimissione_data < entrata_data OR "
        "(dimissione_data = entrata_data AND dimissione_ora < entrata_ora))",
        "dimissione_data",
        "inconsistent_dates",
        "'leaves before arriving'",
    )
    b.add_error(
        t,
        "diagnosi_principale IS NOT NULL AND "
        f"{icd9_dx('diagnosi_principale')} NOT IN "
        "(SELECT code FROM _code_map WHERE vocabulary_id = 'ICD9CM')",
        "diagnosi_principale",
        "unknown_code",
        "diagnosi_principale",
    )
    src = "FROM p_emur r WHERE r._ok"
    care_site = row_id("'HSP'", "substr(r.erogatore_codice_istituto, 1, 6)")
    b.write(
        "cdm.visit_occurrence",
        {
            "visit_occurrence_id": VISIT_ID,
            "person_id": "r.person_id",
            "visit_concept_id": str(std.ER_VISIT),
            "visit_start_date": "r.entrata_data",
            "visit_start_datetime": "r.entrata_data + r.entrata_ora",
            "visit_end_date": "r.dimissione_data",
            "visit_end_datetime": "r.dimissione_data + r.dimissione_ora",
            "visit_type_concept_id": str(std.TYPE_CLAIM),
            "care_site_id": care_site,
            "visit_source_value": "'EMUR triage ' || r.triage || ' outcome "
            "' || r.esito_trattamento",
            "admitted_from_source_value": "r.modalita_arrivo",
            "discharged_to_concept_id": (
                f"CASE r.esito_trattamento WHEN '1' THEN {std.HOME} WHEN '2' THEN "
                f"{std.INPATIENT_VISIT} WHEN '3' THEN {std.INPATIENT_HOSPITAL} ELSE 0 END"
            ),
            "discharged_to_source_value": "r.esito_trattamento",
        },
        src,
    )
    dx = (
        "SELECT r.identificativo, r.erogatore_codice_istituto, r.person_id, r.entrata_data, "
        f"r.dimissione_data, {icd9_dx('r.diagnosi_principale')} AS code, 0 AS seq "
        f"{src} AND r.diagnosi_principale IS NOT NULL UNION ALL "
        "SELECT identificativo, erogatore_codice_istituto, person_id, entrata_data, "
        f"dimissione_data, {icd9_dx('u.c')} AS code, u.i AS seq FROM ("
        "SELECT r.*, unnest(list_filter(" + _codes("diagnosi_secondarie") + ", lambda x: "
        "x <> '')) AS c, generate_subscripts(list_filter("
        + _codes("diagnosi_secondarie")
        + f", lambda x: x <> ''), 1) AS i {src}) u"
    )
    b.write(
        "cdm.condition_occurrence",
        {
            "condition_occurrence_id": row_id(
                "'EMURDX'", "d.identificativo", "d.erogatore_codice_istituto", "d.seq"
            ),
            "person_id": "d.person_id",
            "condition_concept_id": "coalesce(m.concept_id, 0)",
            "condition_start_date": "d.entrata_data",
            "condition_end_date": "d.dimissione_data",
            "condition_type_concept_id": str(std.TYPE_CLAIM),
            "condition_status_concept_id": (
                f"CASE WHEN d.seq = 0 THEN {std.PRIMARY_DIAGNOSIS} ELSE "
                f"{std.SECONDARY_DIAGNOSIS} END"
            ),
            "visit_occurrence_id": row_id(
                "'EMUR'", "d.identificativo", "d.erogatore_codice_istituto"
            ),
            "condition_source_value": "d.code",
            "condition_source_concept_id": "coalesce(m.source_concept_id, 0)",
        },
        f"FROM ({dx}) d LEFT JOIN _code_map m ON m.vocabulary_id = 'ICD9CM' AND m.code = d.code",
    )
    b.write(
        "cdm.observation",
        {
            "observation_id": row_id(
                "'EMURTRIAGE'", "r.identificativo", "r.erogatore_codice_istituto"
            ),
            "person_id": "r.person_id",
            "observation_concept_id": "coalesce(m.concept_id, 0)",
            "observation_date": "r.entrata_data",
            "observation_datetime": "r.entrata_data + r.entrata_ora",
            "observation_type_concept_id": str(std.TYPE_CLAIM),
            "value_as_string": "r.triage",
            "visit_occurrence_id": VISIT_ID,
            "observation_source_value": "'triage'",
            "value_source_value": "r.triage",
        },
        "FROM p_emur r LEFT JOIN _code_map m ON m.vocabulary_id = 'BMB' AND m.code = 'ED_TRIAGE' "
        "WHERE r._ok",
    )
    with b.step("map"):
        b.con.execute(
            "INSERT INTO _death_candidates SELECT person_id, dimissione_data, "
            f"{std.TYPE_CLAIM}, NULL, NULL, 2 {src} AND esito_trattamento IN ('4', '11')"
        )
        b.con.execute(
            f"INSERT INTO _care_sites SELECT DISTINCT {care_site}, "
            f"substr(r.erogatore_codice_istituto, 1, 6) {src}"
        )
        b.con.execute(
            "INSERT INTO _person_candidates SELECT person_id, genere, "
            "make_date(anno_nascita::INTEGER, coalesce(mese_nascita, 1)::INTEGER, 1), "
            f"comune_residenza, NULL, 6, NULL {src}"
        )
    b.account("emur")
