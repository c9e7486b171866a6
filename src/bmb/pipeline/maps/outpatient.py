"""Flusso C outpatient services: outpatient visits, procedures and lab tests ordered.

C1 (patient and prescription) and C2 (service line) are joined on their shared key.
Each prescription's services on one day form one outpatient visit; a catalogue code
that is a lab test becomes a measurement (the order; results come from the labs flow),
any other a procedure.
"""

from __future__ import annotations

from bmb.domain import concepts as std
from bmb.pipeline.batch import Batch
from bmb.pipeline.maps.common import row_id

KEY = ("regione", "zona", "struttura_accettante", "numero_ricetta", "progressivo_riga")
_JOIN = " AND ".join(f"c1.{k} = c2.{k}" for k in (*KEY, "_period"))
VISIT_ID = row_id(
    "'FC'",
    "c2.regione",
    "c2.zona",
    "c2.struttura_accettante",
    "c2.numero_ricetta",
    "c2.data_erogazione",
)


def map_outpatient(b: Batch) -> None:
    b.flag_duplicates("p_outpatient_c1", KEY)
    b.flag_duplicates("p_outpatient_c2", KEY)
    b.reject_orphans("p_outpatient_c2", "p_outpatient_c1", KEY, "no valid C1 record for this line")
    b.add_error(
        "p_outpatient_c2",
        "codice_prestazione NOT IN "
        "(SELECT code FROM _code_map WHERE vocabulary_id = 'IT_CATALOGUE')",
        "codice_prestazione",
        "unknown_code",
        "codice_prestazione",
    )
    b.add_error(
        "p_outpatient_c2",
        "data_erogazione < data_prescrizione",
        "data_erogazione",
        "inconsistent_dates",
        "'service before prescription'",
    )
    src = (
        f"FROM p_outpatient_c2 c2 JOIN (SELECT * FROM p_outpatient_c1 WHERE _ok) c1 ON {_JOIN} "
        "LEFT JOIN _code_map m ON m.vocabulary_id = 'IT_CATALOGUE' "
        "AND m.code = c2.codice_prestazione WHERE c2._ok"
    )
    care_site = row_id("'STS'", "c1.struttura_erogante")
    b.write(
        "cdm.visit_occurrence",
        {
            "visit_occurrence_id": "v.visit_id",
            "person_id": "v.person_id",
            "visit_concept_id": str(std.OUTPATIENT_VISIT),
            "visit_start_date": "v.d",
            "visit_end_date": "v.d",
            "visit_type_concept_id": str(std.TYPE_CLAIM),
            "provider_id": "v.provider_id",
            "care_site_id": "v.care_site_id",
            "visit_source_value": "'Flusso C'",
        },
        f"FROM (SELECT {VISIT_ID} AS visit_id, any_value(c1.person_id) AS person_id, "
        "any_value(c2.data_erogazione) AS d, any_value(c1.cf_medico_erogatore_provider_id) "
        f"AS provider_id, any_value({care_site}) AS care_site_id {src} GROUP BY 1) v",
    )
    common = {
        "person_id": "c1.person_id",
        "provider_id": "c1.cf_prescrittore_provider_id",
        "visit_occurrence_id": VISIT_ID,
    }
    line_id = row_id(
        "'FCL'",
        "c2.regione",
        "c2.zona",
        "c2.struttura_accettante",
        "c2.numero_ricetta",
        "c2.progressivo_riga",
    )
    b.write(
        "cdm.procedure_occurrence",
        {
            **common,
            "procedure_occurrence_id": line_id,
            "procedure_concept_id": "coalesce(m.concept_id, 0)",
            "procedure_date": "c2.data_erogazione",
            "procedure_datetime": "CAST(c2.data_erogazione AS TIMESTAMP)",
            "procedure_type_concept_id": str(std.TYPE_CLAIM),
            "quantity": "c2.quantita",
            "procedure_source_value": "c2.codice_prestazione",
            "procedure_source_concept_id": "coalesce(m.source_concept_id, 0)",
        },
        f"{src} AND coalesce(m.domain_id, 'Procedure') <> 'Measurement'",
    )
    b.write(
        "cdm.measurement",
        {
            **common,
            "measurement_id": line_id,
            "measurement_concept_id": "coalesce(m.concept_id, 0)",
            "measurement_date": "c2.data_erogazione",
            "measurement_datetime": "CAST(c2.data_erogazione AS TIMESTAMP)",
            "measurement_type_concept_id": str(std.TYPE_CLAIM),
            "measurement_source_value": "c2.codice_prestazione",
            "measurement_source_concept_id": "coalesce(m.source_concept_id, 0)",
        },
        f"{src} AND m.domain_id = 'Measurement'",
    )
    with b.step("map"):
        b.con.execute(
            "INSERT INTO _person_candidates SELECT person_id, sesso, data_nascita, "
            "comune_residenza, NULL, 8, NULL FROM p_outpatient_c1 WHERE _ok"
        )
        b.con.execute(
            f"INSERT INTO _care_sites SELECT DISTINCT {care_site}, c1.struttura_erogante {src}"
        )
    b.account("outpatient_c1")
    b.account("outpatient_c2")
