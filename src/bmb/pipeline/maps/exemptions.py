"""Disease exemptions: one observation per certified exemption (OMOP observation)."""

from __future__ import annotations

from bmb.domain import concepts as std
from bmb.pipeline.batch import Batch
from bmb.pipeline.maps.common import row_id


def map_exemptions(b: Batch) -> None:
    t = "p_exemptions"
    b.flag_duplicates(t, ("id_esenzione",), per_period=True)
    b.require_known_person(t)
    b.add_error(
        t,
        "codice_esenzione NOT IN (SELECT code FROM _code_map WHERE vocabulary_id = 'IT_EXEMPTION')",
        "codice_esenzione",
        "unknown_code",
        "codice_esenzione",
    )
    b.add_error(
        t,
        "data_fine < data_inizio",
        "data_fine",
        "inconsistent_dates",
        "'exemption ends before it starts'",
    )
    b.keep_latest(t, ("id_esenzione",))
    b.write(
        "cdm.observation",
        {
            "observation_id": row_id("'ESE'", "r.id_esenzione"),
            "person_id": "r.person_id",
            "observation_concept_id": "coalesce(m.concept_id, 0)",
            "observation_date": "r.data_inizio",
            "observation_datetime": "CAST(r.data_inizio AS TIMESTAMP)",
            "observation_type_concept_id": str(std.TYPE_REGISTRY),
            "value_as_string": "r.diagnosi",
            "provider_id": "r.cf_medico_certificatore_provider_id",
            "observation_source_value": "r.codice_esenzione",
            "observation_source_concept_id": "coalesce(m.source_concept_id, 0)",
            "qualifier_source_value": "'until ' || coalesce(CAST(r.data_fine AS VARCHAR), 'open')",
        },
        "FROM p_exemptions r LEFT JOIN _code_map m ON m.vocabulary_id = 'IT_EXEMPTION' "
        "AND m.code = r.codice_esenzione WHERE r._ok AND NOT r._skip",
        replace_by="observation_id",
    )
    b.account("exemptions")
