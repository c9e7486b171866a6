"""Deaths: the death register gives the date and the ICD-10 underlying cause."""

from __future__ import annotations

from bmb.domain import concepts as std
from bmb.pipeline.batch import Batch


def map_deaths(b: Batch) -> None:
    t = "p_deaths"
    b.flag_duplicates(t, ("id_scheda",))
    b.require_known_person(t)
    b.add_error(
        t,
        "causa_iniziale NOT IN (SELECT code FROM _code_map WHERE vocabulary_id = 'ICD10')",
        "causa_iniziale",
        "unknown_code",
        "causa_iniziale",
    )
    with b.step("map"):
        b.con.execute(
            "INSERT INTO _death_candidates SELECT r.person_id, r.data_decesso, "
            f"{std.TYPE_DEATH_CERTIFICATE}, r.causa_iniziale, m.concept_id, 1 "
            "FROM p_deaths r LEFT JOIN _code_map m ON m.vocabulary_id = 'ICD10' "
            "AND m.code = r.causa_iniziale WHERE r._ok"
        )
    b.account("deaths")
