"""Flusso C outpatient services: outpatient visits, procedures and lab tests ordered.

C1 (patient and prescription) and C2 (service line) are joined on their shared key.
Each prescription's services on one day form one outpatient visit; a catalogue code
that is a lab test becomes a measurement (the order; results come from the labs flow),
any other a procedure.
"""

from __future__ import annotations

from bmb.domain import concepts as std
from bmb.pipeline.batch import Batch, same_key
from bmb.pipeline.maps.common import row_id

KEY = ("regione", "zona", "struttura_accettante", "numero_ricetta", "progressivo_riga")
_JOIN = same_key("c1", "c2", KEY)
VISIT_ID = row_id(
    "'FC'",
    "c2.regione",
    "c2.zona",
    "c2.struttura_accettante",
    "c2.numero_ricetta",
    "c2.data_erogazione",
)

LINE_ID = row_id(
    "'FCL'",
    "c2.regione",
    "c2.zona",
    "c2.struttura_accettante",
    "c2.numero_ricetta",
    "c2.progressivo_riga",
)
CARE_SITE = row_id("'STS'", "c1.struttura_erogante")


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
    # The good lines joined to their prescription once, with their ids: the visits,
    # procedures, measurements and care sites all read it (joining four times on the
    # six key columns was half of the flow's mapping time).
    with b.step("map"):
        b.con.execute(
            "CREATE OR REPLACE TEMP TABLE _fc AS SELECT "
            f"{LINE_ID} AS line_id, {VISIT_ID} AS visit_id, c1.person_id, "
            "c1.cf_prescrittore_provider_id, c1.cf_medico_erogatore_provider_id, "
            f"c1.struttura_erogante, {CARE_SITE} AS care_site_id, "
            "c2.progressivo_riga AS line, c2.data_erogazione, c2.quantita, "
            "c2.codice_prestazione, m.concept_id, "
            "m.source_concept_id, m.domain_id "
            f"FROM p_outpatient_c2 c2 JOIN (SELECT * FROM p_outpatient_c1 WHERE _ok) c1 ON {_JOIN} "
            "LEFT JOIN _code_map m ON m.vocabulary_id = 'IT_CATALOGUE' "
            "AND m.code = c2.codice_prestazione WHERE c2._ok"
        )
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
        # A visit's lines may name different doctors: the first line's are kept.
        "FROM (SELECT visit_id, arg_min(person_id, line) AS person_id, "
        "arg_min(data_erogazione, line) AS d, "
        "arg_min(cf_medico_erogatore_provider_id, line) AS provider_id, "
        "arg_min(care_site_id, line) AS care_site_id FROM _fc GROUP BY 1) v",
    )
    common = {
        "person_id": "c.person_id",
        "provider_id": "c.cf_prescrittore_provider_id",
        "visit_occurrence_id": "c.visit_id",
    }
    b.write(
        "cdm.procedure_occurrence",
        {
            **common,
            "procedure_occurrence_id": "c.line_id",
            "procedure_concept_id": "coalesce(c.concept_id, 0)",
            "procedure_date": "c.data_erogazione",
            "procedure_datetime": "CAST(c.data_erogazione AS TIMESTAMP)",
            "procedure_type_concept_id": str(std.TYPE_CLAIM),
            "quantity": "c.quantita",
            "procedure_source_value": "c.codice_prestazione",
            "procedure_source_concept_id": "coalesce(c.source_concept_id, 0)",
        },
        "FROM _fc c WHERE coalesce(c.domain_id, 'Procedure') <> 'Measurement'",
    )
    b.write(
        "cdm.measurement",
        {
            **common,
            "measurement_id": "c.line_id",
            "measurement_concept_id": "coalesce(c.concept_id, 0)",
            "measurement_date": "c.data_erogazione",
            "measurement_datetime": "CAST(c.data_erogazione AS TIMESTAMP)",
            "measurement_type_concept_id": str(std.TYPE_CLAIM),
            "measurement_source_value": "c.codice_prestazione",
            "measurement_source_concept_id": "coalesce(c.source_concept_id, 0)",
        },
        "FROM _fc c WHERE c.domain_id = 'Measurement'",
    )
    with b.step("map"):
        b.con.execute(
            "INSERT INTO _person_candidates SELECT person_id, sesso, data_nascita, "
            "comune_residenza, NULL, 8, NULL FROM p_outpatient_c1 WHERE _ok"
        )
        b.con.execute(
            "INSERT INTO _care_sites SELECT DISTINCT care_site_id, struttura_erogante FROM _fc"
        )
        b.con.execute("DROP TABLE _fc")
    b.account("outpatient_c1")
    b.account("outpatient_c2")
