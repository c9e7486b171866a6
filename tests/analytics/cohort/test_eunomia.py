"""Cohorts on Eunomia GiBleed, checked against independent queries and known counts.

The expected values never come from BMB's compiler: each test computes them with a
plain SQL query (or Python) written for the test. Eunomia's own ``createCohorts()``
reports 479 persons with a GI bleed; BMB must find the same.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path

from bmb.analytics.cohort import generate_cohort
from bmb.domain.cohort import api as c
from tests.engine_fixtures import CdmWorld

GI_BLEED = 192671
CELECOXIB = 1118084
INPATIENT = 9201


def _rows(world: CdmWorld, sql: str) -> list[dict[str, object]]:
    from bmb.analytics.cohort.sqltext import transpile

    return world.engine.query(transpile(sql, world.engine.dialect)).to_pylist()


def test_gi_bleed_first_diagnosis_matches_eunomia(eunomia: CdmWorld) -> None:
    definition = (
        c.Cohort("GI bleed")
        .concept_set(0, "GI bleed", c.concept(GI_BLEED, descendants=True))
        .entry(c.condition_occurrence(0, first=True))
        .build()
    )

    result = generate_cohort(eunomia.engine, definition)

    expected = _rows(
        eunomia,
        f"""
        SELECT f.person_id, f.first_date, op.observation_period_end_date AS op_end
        FROM (SELECT co.person_id, MIN(co.condition_start_date) AS first_date
              FROM condition_occurrence co
              WHERE co.condition_concept_id IN (
                  SELECT descendant_concept_id FROM concept_ancestor
                  WHERE ancestor_concept_id = {GI_BLEED})
              GROUP BY co.person_id) f
        JOIN observation_period op ON op.person_id = f.person_id
         AND f.first_date BETWEEN op.observation_period_start_date
                              AND op.observation_period_end_date
        """,
    )
    assert result.persons == len(expected) == 479  # Eunomia createCohorts(): GiBleed n = 479
    got = {
        r["subject_id"]: (r["cohort_start_date"], r["cohort_end_date"])
        for r in result.rows.to_pylist()
    }
    assert got == {r["person_id"]: (r["first_date"], r["op_end"]) for r in expected}
    assert result.provenance.engine in ("duckdb", "postgres", "spark")


def _era_end(exposures: list[tuple[dt.date, dt.date]], index: dt.date, gap: int) -> dt.date:
    """End of the continuous-exposure era holding ``index``, merged independently."""
    eras: list[list[dt.date]] = []
    for start, end in sorted(exposures):
        if eras and start <= eras[-1][1] + dt.timedelta(days=gap):
            eras[-1][1] = max(eras[-1][1], end)
        else:
            eras.append([start, end])
    return next(e for s, e in eras if s <= index <= e)


def test_celecoxib_new_users_exit_at_end_of_continuous_exposure(eunomia: CdmWorld) -> None:
    definition = (
        c.Cohort("New users of celecoxib")
        .concept_set(0, "celecoxib", c.concept(CELECOXIB, descendants=True))
        .concept_set(1, "GI bleed", c.concept(GI_BLEED, descendants=True))
        .entry(c.drug_exposure(0, first=True), prior_days=365)
        .include("no prior GI bleed", c.none(c.condition_occurrence(1), c.window(None, -1)))
        .exit_at_end_of_exposure(0, gap_days=30)
        .build()
    )

    result = generate_cohort(eunomia.engine, definition)

    exposures = _rows(
        eunomia,
        f"""
        SELECT de.person_id, de.drug_exposure_start_date AS s,
               COALESCE(de.drug_exposure_end_date,
                        de.drug_exposure_start_date + CAST(de.days_supply AS INTEGER),
                        de.drug_exposure_start_date + 1) AS e,
               op.observation_period_start_date AS op_start,
               op.observation_period_end_date AS op_end
        FROM drug_exposure de
        JOIN observation_period op ON op.person_id = de.person_id
        WHERE de.drug_concept_id IN (SELECT descendant_concept_id FROM concept_ancestor
                                     WHERE ancestor_concept_id = {CELECOXIB})
        """,
    )
    by_person: dict[int, list[dict[str, object]]] = defaultdict(list)
    for r in exposures:
        by_person[int(r["person_id"])].append(r)  # type: ignore[arg-type]
    bleeds: dict[int, list[dt.date]] = defaultdict(list)
    for r in _rows(
        eunomia,
        f"""
        SELECT co.person_id, co.condition_start_date AS d FROM condition_occurrence co
        WHERE co.condition_concept_id IN (SELECT descendant_concept_id FROM concept_ancestor
                                          WHERE ancestor_concept_id = {GI_BLEED})
        """,
    ):
        bleeds[int(r["person_id"])].append(r["d"])  # type: ignore[arg-type]
    expected: dict[int, tuple[dt.date, dt.date]] = {}
    for person, rows in by_person.items():
        first = min(rows, key=lambda r: r["s"])  # type: ignore[arg-type, return-value]
        index, op_start, op_end = first["s"], first["op_start"], first["op_end"]
        assert isinstance(index, dt.date)
        assert isinstance(op_start, dt.date)
        assert isinstance(op_end, dt.date)
        if not op_start + dt.timedelta(days=365) <= index <= op_end:
            continue
        if any(op_start <= d < index for d in bleeds[person]):  # the inclusion rule
            continue
        spans = [(r["s"], r["e"]) for r in rows]
        end = min(_era_end(spans, index, 30), op_end)  # type: ignore[arg-type]
        expected[person] = (index, end)

    got = {
        r["subject_id"]: (r["cohort_start_date"], r["cohort_end_date"])
        for r in result.rows.to_pylist()
    }
    assert got == expected
    assert len(got) == 1800
    assert result.by_person.base == 1800
    assert result.by_person.rules[0].remaining == 1800


def test_adult_inpatient_visits_with_fixed_exit(eunomia: CdmWorld) -> None:
    definition = (
        c.Cohort("Adult inpatient stays")
        .concept_set(0, "inpatient", c.concept(INPATIENT))
        .entry(c.visit_occurrence(0, age=c.gte(18)))
        .limit("all")
        .exit_after(7)
        .build()
    )

    result = generate_cohort(eunomia.engine, definition)

    stays = _rows(
        eunomia,
        f"""
        SELECT v.person_id, v.visit_start_date AS s, op.observation_period_end_date AS op_end
        FROM visit_occurrence v JOIN person p ON p.person_id = v.person_id
        JOIN observation_period op ON op.person_id = v.person_id
         AND v.visit_start_date BETWEEN op.observation_period_start_date
                                    AND op.observation_period_end_date
        WHERE v.visit_concept_id = {INPATIENT}
          AND YEAR(v.visit_start_date) - p.year_of_birth >= 18
        """,
    )
    # Independent era collapse: stays whose 7-day windows touch are one cohort period.
    periods: dict[int, list[list[dt.date]]] = defaultdict(list)
    for r in sorted(stays, key=lambda r: (r["person_id"], r["s"])):  # type: ignore[arg-type, return-value]
        start = r["s"]
        assert isinstance(start, dt.date)
        assert isinstance(r["op_end"], dt.date)
        end = min(start + dt.timedelta(days=7), r["op_end"])
        mine = periods[int(r["person_id"])]  # type: ignore[arg-type]
        if mine and start <= mine[-1][1]:
            mine[-1][1] = max(mine[-1][1], end)
        else:
            mine.append([start, end])
    expected = sorted((p, s, e) for p, spans in periods.items() for s, e in spans)
    got = sorted(
        (r["subject_id"], r["cohort_start_date"], r["cohort_end_date"])
        for r in result.rows.to_pylist()
    )
    assert got == expected
    assert len(expected) > 100


def test_synthea_cdm_in_a_zip_loads_and_runs(world: CdmWorld, fixtures_dir: Path) -> None:
    from bmb.sources.cdm_csv import read_cdm_csv

    data = read_cdm_csv(fixtures_dir / "eunomia" / "Synthea27Nj_5.4.zip")
    world.load(data.tables)
    definition = c.Cohort("everyone").entry(c.observation_period(first=True)).build()

    result = generate_cohort(world.engine, definition)

    assert result.persons == data.tables["person"].num_rows == 28
