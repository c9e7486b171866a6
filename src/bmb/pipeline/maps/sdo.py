"""SDO hospital discharges: sections A and B joined into inpatient visits.

Section A (the patient) and section B (the stay) are linked by hospital and SDO
number. A stay whose patient record is missing or rejected cannot be attributed to
anyone and is quarantined as an orphan; a patient record is kept (it tells who the
patient is) even when its stay is rejected.
"""

from __future__ import annotations

from bmb.domain import concepts as std
from bmb.pipeline.batch import Batch, same_key
from bmb.pipeline.maps.common import icd9_dx, icd9_proc, row_id

VISIT_ID = row_id("'SDO'", "b.codice_istituto", "b.numero_sdo")

_ADMITTED_FROM = (
    f"CASE b.provenienza WHEN '2' THEN {std.ER_VISIT} WHEN '3' THEN {std.INPATIENT_HOSPITAL} "
    f"WHEN '4' THEN {std.INPATIENT_HOSPITAL} WHEN '7' THEN {std.NURSING_FACILITY} ELSE 0 END"
)
_DISCHARGED_TO = (
    f"CASE b.modalita_dimissione WHEN '2' THEN {std.HOME} WHEN '3' THEN {std.NURSING_FACILITY} "
    f"WHEN '6' THEN {std.INPATIENT_HOSPITAL} WHEN '8' THEN {std.REHABILITATION_FACILITY} "
    f"WHEN '9' THEN {std.HOME} ELSE 0 END"
)


def _diagnosis_fields() -> list[tuple[str, str, int]]:
    """(code column, poa column, status concept) for principal then secondary diagnoses."""
    out = [("diagnosi_principale", "poa_principale", std.PRIMARY_DIAGNOSIS)]
    out += [
        (f"diagnosi_secondaria_{i}", f"poa_secondaria_{i}", std.SECONDARY_DIAGNOSIS)
        for i in range(1, 6)
    ]
    return out


def _procedure_fields() -> list[tuple[str, str, str]]:
    out = [("intervento_principale", "data_intervento_principale", "0")]
    out += [
        (f"intervento_secondario_{i}", f"data_intervento_secondario_{i}", str(i))
        for i in range(1, 6)
    ]
    return out


#: An SDO's key: the hospital and its discharge number (sections A and B share it).
KEY = ("codice_istituto", "numero_sdo")


def map_sdo(b: Batch) -> None:
    a, s = "p_sdo_a", "p_sdo_b"
    b.flag_duplicates(a, KEY)
    b.flag_duplicates(s, KEY)
    # the patient of each stay
    b.con.execute(
        "CREATE OR REPLACE TEMP TABLE _sdo_patient AS SELECT codice_istituto, numero_sdo, "
        "_period, person_id, data_nascita FROM p_sdo_a WHERE _ok"
    )
    b.reject_orphans(s, a, KEY, "no valid section A for this SDO")
    b.add_error(
        s,
        "data_dimissione < data_ricovero",
        "data_dimissione",
        "inconsistent_dates",
        "'discharge before admission'",
    )
    for code_col, _, _ in _diagnosis_fields():
        b.add_error(
            s,
            f"{code_col} IS NOT NULL AND {icd9_dx(code_col)} NOT IN "
            "(SELECT code FROM _code_map WHERE vocabulary_id = 'ICD9CM')",
            code_col,
            "unknown_code",
            code_col,
        )
    for code_col, _, _ in _procedure_fields():
        b.add_error(
            s,
            f"{code_col} IS NOT NULL AND {icd9_proc(code_col)} NOT IN "
            "(SELECT code FROM _code_map WHERE vocabulary_id = 'ICD9Proc')",
            code_col,
            "unknown_code",
            code_col,
        )
    src = f"FROM p_sdo_b b JOIN _sdo_patient p ON {same_key('p', 'b', KEY)} WHERE b._ok"
    care_site = row_id("'HSP'", "substr(b.codice_istituto, 1, 6)")
    b.write(
        "cdm.visit_occurrence",
        {
            "visit_occurrence_id": VISIT_ID,
            "person_id": "p.person_id",
            "visit_concept_id": str(std.INPATIENT_VISIT),
            "visit_start_date": "b.data_ricovero",
            "visit_start_datetime": "b.data_ricovero + coalesce(b.ora_ricovero, TIME '00:00')",
            "visit_end_date": "b.data_dimissione",
            "visit_end_datetime": "b.data_dimissione + coalesce(b.ora_dimissione, TIME '00:00')",
            "visit_type_concept_id": str(std.TYPE_CLAIM),
            "care_site_id": care_site,
            "visit_source_value": "'SDO regime ' || b.regime || ' type ' || b.tipo_ricovero",
            "admitted_from_concept_id": _ADMITTED_FROM,
            "admitted_from_source_value": "b.provenienza",
            "discharged_to_concept_id": _DISCHARGED_TO,
            "discharged_to_source_value": "b.modalita_dimissione",
        },
        src,
    )
    wards = [
        (
            "1",
            "b.reparto_ammissione",
            "b.data_ricovero",
            "coalesce(b.data_trasferimento, b.data_dimissione)",
        ),
        ("2", "b.reparto_trasferimento", "b.data_trasferimento", "b.data_dimissione"),
    ]
    ward_rows = " UNION ALL ".join(
        f"SELECT b.*, p.person_id AS pid, '{n}' AS seq, {ward} AS ward, {start} AS ward_start, "
        f"{end} AS ward_end {src} AND {ward} IS NOT NULL AND {start} IS NOT NULL"
        for n, ward, start, end in wards
    )
    b.write(
        "cdm.visit_detail",
        {
            "visit_detail_id": row_id("'SDOW'", "w.codice_istituto", "w.numero_sdo", "w.seq"),
            "person_id": "w.pid",
            "visit_detail_concept_id": str(std.INPATIENT_VISIT),
            "visit_detail_start_date": "w.ward_start",
            "visit_detail_end_date": "w.ward_end",
            "visit_detail_type_concept_id": str(std.TYPE_CLAIM),
            "care_site_id": row_id("'HSP'", "substr(w.codice_istituto, 1, 6)"),
            "visit_detail_source_value": "'ward ' || w.ward",
            "visit_occurrence_id": row_id("'SDO'", "w.codice_istituto", "w.numero_sdo"),
        },
        f"FROM ({ward_rows}) w",
    )
    dx = " UNION ALL ".join(
        f"SELECT b.codice_istituto, b.numero_sdo, p.person_id, b.data_ricovero, b.data_dimissione, "
        f"{icd9_dx('b.' + code)} AS code, b.{poa} AS poa, {status} AS status, {i} AS seq "
        f"{src} AND b.{code} IS NOT NULL"
        for i, (code, poa, status) in enumerate(_diagnosis_fields())
    )
    b.write(
        "cdm.condition_occurrence",
        {
            "condition_occurrence_id": row_id(
                "'SDODX'", "d.codice_istituto", "d.numero_sdo", "d.seq"
            ),
            "person_id": "d.person_id",
            "condition_concept_id": "coalesce(m.concept_id, 0)",
            "condition_start_date": "d.data_ricovero",
            "condition_end_date": "d.data_dimissione",
            "condition_type_concept_id": str(std.TYPE_CLAIM),
            "condition_status_concept_id": "d.status",
            "visit_occurrence_id": row_id("'SDO'", "d.codice_istituto", "d.numero_sdo"),
            "condition_source_value": "d.code",
            "condition_source_concept_id": "coalesce(m.source_concept_id, 0)",
            "condition_status_source_value": "CASE WHEN d.seq = 0 THEN 'principal' ELSE "
            "'secondary' END || coalesce(' poa ' || d.poa, '')",
        },
        f"FROM ({dx}) d LEFT JOIN _code_map m ON m.vocabulary_id = 'ICD9CM' AND m.code = d.code",
    )
    # Only the principal procedure has a time in the SDO (ora_intervento_principale):
    # it becomes procedure_datetime, which the 48-hour outcome indicators need.
    px = " UNION ALL ".join(
        f"SELECT b.codice_istituto, b.numero_sdo, p.person_id, "
        f"coalesce(b.{date}, b.data_ricovero) AS pdate, "
        + (
            f"CASE WHEN b.{date} IS NOT NULL AND b.ora_intervento_principale IS NOT NULL "
            f"THEN b.{date} + b.ora_intervento_principale END AS ptime, "
            if seq == "0"
            else "NULL::TIMESTAMP AS ptime, "
        )
        + f"{icd9_proc('b.' + code)} AS code, {seq} AS seq {src} AND b.{code} IS NOT NULL"
        for code, date, seq in _procedure_fields()
    )
    b.write(
        "cdm.procedure_occurrence",
        {
            "procedure_occurrence_id": row_id(
                "'SDOPX'", "x.codice_istituto", "x.numero_sdo", "x.seq"
            ),
            "person_id": "x.person_id",
            "procedure_concept_id": "coalesce(m.concept_id, 0)",
            "procedure_date": "x.pdate",
            "procedure_datetime": "coalesce(x.ptime, CAST(x.pdate AS TIMESTAMP))",
            "procedure_type_concept_id": str(std.TYPE_CLAIM),
            "visit_occurrence_id": row_id("'SDO'", "x.codice_istituto", "x.numero_sdo"),
            "procedure_source_value": "x.code",
            "procedure_source_concept_id": "coalesce(m.source_concept_id, 0)",
        },
        f"FROM ({px}) x LEFT JOIN _code_map m ON m.vocabulary_id = 'ICD9Proc' AND m.code = x.code",
    )
    with b.step("map"):
        b.con.execute(
            f"INSERT INTO _death_candidates SELECT p.person_id, b.data_dimissione, "
            f"{std.TYPE_CLAIM}, NULL, NULL, 2 {src} AND b.modalita_dimissione = '1'"
        )
        b.con.execute(
            "INSERT INTO _care_sites SELECT DISTINCT "
            f"{care_site}, substr(b.codice_istituto, 1, 6) {src}"
        )
        b.con.execute(
            "INSERT INTO _person_candidates SELECT person_id, sesso, data_nascita, "
            "comune_residenza, NULL, 5, NULL FROM p_sdo_a WHERE _ok"
        )
    b.account("sdo_a")
    b.account("sdo_b")
