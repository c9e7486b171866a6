"""Incidence and prevalence on a hand-built CDM, every number computed by hand.

Person 1: male, born 1950, observed 2000-2010; in the target cohort 2004-07-01 to
2005-06-30 (365 days); outcome on 2005-01-01, whose 30-day clean window (2005-01-02..01-31)
leaves 335 days at risk.
Person 2: female, born 1980, observed 2000-2004; target 2004-01-01 to 2006-12-31 (time
at risk cut at the end of observation, 2004-12-31: 366 days, 2004 is a leap year);
outcomes 2004-03-01 (lasting to 03-10), 2004-03-05 (inside the first clean window: not
a case) and 2004-06-01. With a 30-day clean window, 2004-03-02..04-09 (39 days) and
2004-06-02..07-01 (30 days) are not at risk: 297 days, 2 cases.
Person 3: female, born 1950, observed 2000-2010, never in the target cohort.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from bmb.analytics.rates import CohortRef, TimeAtRisk, incidence, poisson_exact, prevalence
from bmb.domain.populations import esp2013
from bmb.engines.capabilities import load_arrow
from tests.engine_fixtures import CdmWorld

D = dt.date
MALE, FEMALE = 8507, 8532


def _cohort(rows: list[tuple[int, dt.date, dt.date]]) -> pa.Table:
    return pa.table(
        {
            "cohort_definition_id": pa.array([1] * len(rows), pa.int64()),
            "subject_id": pa.array([r[0] for r in rows], pa.int64()),
            "cohort_start_date": pa.array([r[1] for r in rows], pa.date32()),
            "cohort_end_date": pa.array([r[2] for r in rows], pa.date32()),
        }
    )


@pytest.fixture
def cdm(world: CdmWorld) -> CdmWorld:
    world.load(
        {
            "person": pa.table(
                {
                    "person_id": [1, 2, 3],
                    "gender_concept_id": [MALE, FEMALE, FEMALE],
                    "year_of_birth": [1950, 1980, 1950],
                    "race_concept_id": [0, 0, 0],
                    "ethnicity_concept_id": [0, 0, 0],
                }
            ),
            "observation_period": pa.table(
                {
                    "observation_period_id": [1, 2, 3],
                    "person_id": [1, 2, 3],
                    "observation_period_start_date": [D(2000, 1, 1)] * 3,
                    "observation_period_end_date": [
                        D(2010, 12, 31),
                        D(2004, 12, 31),
                        D(2010, 12, 31),
                    ],
                    "period_type_concept_id": [0, 0, 0],
                }
            ),
        }
    )
    load_arrow(
        world.engine,
        "t_target",
        _cohort([(1, D(2004, 7, 1), D(2005, 6, 30)), (2, D(2004, 1, 1), D(2006, 12, 31))]),
    )
    load_arrow(
        world.engine,
        "t_outcome",
        _cohort(
            [
                (1, D(2005, 1, 1), D(2005, 1, 1)),
                (2, D(2004, 3, 1), D(2004, 3, 10)),
                (2, D(2004, 3, 5), D(2004, 3, 5)),
                (2, D(2004, 6, 1), D(2004, 6, 1)),
            ]
        ),
    )
    return world


def _run(cdm: CdmWorld):  # type: ignore[no-untyped-def]
    return incidence(
        cdm.engine,
        CohortRef("t_target", name="target"),
        CohortRef("t_outcome", name="outcome"),
        tar=TimeAtRisk(0, "start", 0, "end"),
        clean_window=30,
    )


def test_incidence_overall_matches_hand_count(cdm: CdmWorld) -> None:
    overall = _run(cdm).overall()

    assert overall.cases == 3
    assert overall.persons_at_risk == 2
    assert overall.persons_with_cases == 2
    years = (335 + 297) / 365.25
    assert overall.person_years == pytest.approx(years)
    assert overall.rate.value == pytest.approx(3 / years * 1000)
    lo, hi = poisson_exact(3)
    assert overall.rate.lower == pytest.approx(lo / years * 1000)
    assert overall.rate.upper == pytest.approx(hi / years * 1000)


def test_incidence_splits_person_time_by_calendar_year(cdm: CdmWorld) -> None:
    rows = {r.year: r for r in _run(cdm).rows if r.age_band is None and r.sex is None}

    assert rows[2004].person_years * 365.25 == pytest.approx(184 + 297)
    assert rows[2004].cases == 2
    assert rows[2005].person_years * 365.25 == pytest.approx(181 - 30)
    assert rows[2005].cases == 1
    assert rows[2004].persons_at_risk == 2
    assert rows[2005].persons_at_risk == 1


def test_incidence_by_sex_and_age_band(cdm: CdmWorld) -> None:
    result = _run(cdm)
    by_sex = {r.sex: r for r in result.rows if r.age_band is None and r.year is None and r.sex}
    by_age = {r.age_band: r for r in result.rows if r.sex is None and r.year is None and r.age_band}

    assert by_sex[MALE].cases == 1
    assert by_sex[MALE].person_years * 365.25 == pytest.approx(335)
    assert by_sex[FEMALE].cases == 2
    assert set(by_age) == {"50-54", "20-24"}  # ages at the start of time at risk
    assert by_age["20-24"].person_years * 365.25 == pytest.approx(297)


def test_age_standardized_incidence_uses_esp2013_weights(cdm: CdmWorld) -> None:
    result = _run(cdm)
    overall = next(s for s in result.standardized if s.sex is None and s.year is None)

    r_young = 2 / (297 / 365.25)
    r_old = 1 / (335 / 365.25)
    assert overall.rate.value == pytest.approx((6000 * r_young + 7000 * r_old) / 13000 * 1000)
    assert len(overall.missing_bands) == 17
    assert result.standard == esp2013().name


def test_incidence_result_carries_provenance_and_table(cdm: CdmWorld) -> None:
    result = _run(cdm)
    table = result.to_arrow()

    assert result.provenance.bmb_version
    assert "rate_per_1000_py" in table.column_names
    assert table.num_rows == len(result.rows) + len(result.standardized)


def test_period_and_point_prevalence(cdm: CdmWorld) -> None:
    result = prevalence(
        cdm.engine,
        CohortRef("t_outcome", name="outcome"),
        [(D(2004, 1, 1), D(2004, 12, 31)), (D(2005, 1, 1), D(2005, 1, 1))],
    )

    year = result.overall(D(2004, 1, 1))
    point = result.overall(D(2005, 1, 1))
    assert (year.persons, year.cases) == (3, 1)
    assert year.prevalence.value == pytest.approx(1 / 3)
    assert (point.persons, point.cases) == (2, 1)  # person 2 is no longer observed
    by_sex = {
        r.sex: r
        for r in result.rows
        if r.period_start == D(2004, 1, 1) and r.age_band is None and r.sex
    }
    assert (by_sex[FEMALE].persons, by_sex[FEMALE].cases) == (2, 1)


def test_prevalence_within_a_population_cohort(cdm: CdmWorld) -> None:
    result = prevalence(
        cdm.engine,
        CohortRef("t_outcome"),
        [(D(2005, 1, 1), D(2005, 12, 31))],
        population=CohortRef("t_target", name="target"),
    )

    row = result.overall(D(2005, 1, 1))
    assert (row.persons, row.cases) == (1, 1)
    assert result.population == "target"
