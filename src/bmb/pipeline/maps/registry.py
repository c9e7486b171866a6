"""Registry (anagrafe assistiti): persons, their coverage, their GPs, registry deaths.

The registry is the authority on who is a resident: its records become person rows
(replacing what other flows guessed from their own demographics) and observation
periods (coverage spells, merged when they touch). A spell closed by death (reason 1)
also gives a death date, used when the death register has none.
"""

from __future__ import annotations

from bmb.domain import concepts as std
from bmb.pipeline.batch import Batch
from bmb.pipeline.maps.common import ok


def map_registry(b: Batch) -> None:
    t = "p_registry"
    key = ("person_id", "data_inizio_assistenza")  # the fiscal code stopped at staging
    b.flag_duplicates(t, key, per_period=True)
    b.add_error(
        t,
        "data_fine_assistenza < data_inizio_assistenza",
        "data_fine_assistenza",
        "inconsistent_dates",
        "'coverage ends before it starts'",
    )
    b.add_error(
        t,
        "data_inizio_assistenza < data_nascita",
        "data_inizio_assistenza",
        "inconsistent_dates",
        "'coverage starts before birth'",
    )
    b.keep_latest(t, key)
    with b.step("map"):
        b.con.execute(
            "INSERT INTO _person_candidates SELECT person_id, sesso, data_nascita, "
            "comune_residenza, cf_medico_provider_id, 1, "
            f"coalesce(data_fine_assistenza, data_inizio_assistenza) {ok(t)}"
        )
        b.con.execute(
            "INSERT INTO _spells SELECT person_id, data_inizio_assistenza, "
            f"data_fine_assistenza {ok(t)}"
        )
        b.con.execute(
            "INSERT INTO _death_candidates SELECT person_id, data_fine_assistenza, "
            f"{std.TYPE_REGISTRY}, NULL, NULL, 3 {ok(t)} AND motivo_fine = '1' "
            "AND data_fine_assistenza IS NOT NULL"
        )
        b.con.execute(
            "INSERT INTO _provider_roles SELECT DISTINCT cf_medico_provider_id, "
            f"CASE WHEN tipo_medico = 'P' THEN {std.PEDIATRICS} ELSE {std.GENERAL_PRACTICE} END, "
            "CASE WHEN tipo_medico = 'P' THEN 'family paediatrician' ELSE "
            "'general practitioner' END "
            f"{ok(t)} AND cf_medico_provider_id IS NOT NULL"
        )
    b.account("registry")
