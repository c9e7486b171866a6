"""Laboratory results: one measurement per result, LOINC coded, with unit and range."""

from __future__ import annotations

from bmb.domain import concepts as std
from bmb.pipeline.batch import Batch
from bmb.pipeline.maps.common import row_id


def map_labs(b: Batch) -> None:
    t = "p_labs"
    b.flag_duplicates(t, ("id_risultato",))
    b.require_known_person(t)
    b.add_error(
        t,
        "codice_loinc NOT IN (SELECT code FROM _code_map WHERE vocabulary_id = 'LOINC')",
        "codice_loinc",
        "unknown_code",
        "codice_loinc",
    )
    b.write(
        "cdm.measurement",
        {
            "measurement_id": row_id("'LAB'", "r.id_risultato"),
            "person_id": "r.person_id",
            "measurement_concept_id": "coalesce(m.concept_id, 0)",
            "measurement_date": "r.data_prelievo",
            "measurement_datetime": "r.data_prelievo + coalesce(r.ora_prelievo, TIME '00:00')",
            "measurement_time": "substr(CAST(r.ora_prelievo AS VARCHAR), 1, 5)",
            "measurement_type_concept_id": str(std.TYPE_LAB),
            "value_as_number": "r.valore",
            "unit_concept_id": "coalesce(u.concept_id, 0)",
            "range_low": "r.valore_min",
            "range_high": "r.valore_max",
            "measurement_source_value": "r.codice_loinc",
            "measurement_source_concept_id": "coalesce(m.source_concept_id, 0)",
            "unit_source_value": "r.unita",
            "value_source_value": "CAST(r.valore AS VARCHAR) || coalesce(' ' || r.flag, '')",
        },
        "FROM p_labs r LEFT JOIN _code_map m ON m.vocabulary_id = 'LOINC' "
        "AND m.code = r.codice_loinc LEFT JOIN _code_map u ON u.vocabulary_id = 'UCUM' "
        "AND u.code = r.unita WHERE r._ok",
    )
    b.con.execute(
        "INSERT INTO _person_candidates SELECT person_id, NULL, NULL, NULL, NULL, 9, "
        "data_prelievo FROM p_labs WHERE _ok"
    )
    b.account("labs")
