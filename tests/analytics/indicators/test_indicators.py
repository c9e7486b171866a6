"""PNE-style indicators: episodes by hand, adjustment, funnel limits, definitions."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import numpy as np
import pytest

from bmb.analytics.indicators import IndicatorResult, compute_indicator
from bmb.analytics.stats.funnel import binomial_limit, funnel_position
from bmb.domain.indicators import default_indicators
from bmb.engines.lake import LakeEngine, open_lake
from tests.region_lake import RegionLake

START, END = date(2023, 1, 1), date(2025, 11, 30)


@pytest.fixture(scope="module")
def engine(region_lake: RegionLake) -> Iterator[LakeEngine]:
    with open_lake(region_lake.lake) as e:
        yield e


@pytest.fixture(scope="module")
def ami(engine: LakeEngine) -> IndicatorResult:
    return compute_indicator(engine, default_indicators().get("ami_30d_mortality"), START, END)


def test_ami_episodes_match_a_hand_written_query(engine: LakeEngine, ami: IndicatorResult) -> None:
    by_hand = engine.query(
        f"""
        WITH idx AS (
            SELECT v.person_id, v.visit_start_date, v.visit_occurrence_id,
                   row_number() OVER (PARTITION BY v.person_id ORDER BY v.visit_start_datetime,
                                      v.visit_occurrence_id) AS k
            FROM visit_occurrence v
            WHERE v.visit_concept_id = 9201
              AND v.visit_start_date BETWEEN DATE '{START}' AND DATE '{END}'
              AND v.visit_source_value LIKE 'SDO regime 1 %'
              AND coalesce(v.admitted_from_concept_id, 0) <> 8717
              AND EXISTS (SELECT 1 FROM condition_occurrence c
                          WHERE c.visit_occurrence_id = v.visit_occurrence_id
                            AND c.condition_status_concept_id = 32902
                            AND c.condition_source_value LIKE '410%'
                            AND c.condition_source_value NOT LIKE '410._2')
        )
        SELECT i.visit_occurrence_id,
               EXISTS (SELECT 1 FROM death d WHERE d.person_id = i.person_id
                       AND d.death_date BETWEEN i.visit_start_date
                       AND i.visit_start_date + 30) AS died
        FROM idx i JOIN person p USING (person_id)
        WHERE k = 1 AND year(i.visit_start_date) - p.year_of_birth BETWEEN 17 AND 101
        """
    ).to_pylist()
    got = dict(
        zip(
            ami.episodes.column("visit_occurrence_id").to_pylist(),
            ami.episodes.column("event").to_pylist(),
            strict=True,
        )
    )
    expected = {r["visit_occurrence_id"]: r["died"] for r in by_hand}
    assert len(got) >= 20
    assert set(got) <= set(expected)  # the hand query's age test is one year looser
    assert len(got) >= 0.95 * len(expected)
    assert all(got[v] == expected[v] for v in got)


def test_adjusted_rates_are_indirectly_standardized(ami: IndicatorResult) -> None:
    rate = ami.region["rate"]
    e = np.asarray(ami.episodes.column("expected").to_numpy())
    y = np.asarray(ami.episodes.column("event").to_numpy(zero_copy_only=False), dtype=float)
    assert e.sum() == pytest.approx(y.sum(), rel=1e-6)  # logistic MLE: sum(E) = sum(O)
    for h in ami.hospitals.to_pylist():
        if h["expected"] > 0:
            assert h["adjusted"] == pytest.approx(
                min(100.0, rate * h["observed"] / h["expected"]), rel=1e-9
            )
            assert h["lower"] <= h["adjusted"] <= h["upper"] + 1e-9
    assert sum(h["episodes"] for h in ami.hospitals.to_pylist()) == ami.region["episodes"]
    assert ami.region["adjusted_for"] in ("case mix", "age and sex", "none")


def test_hip_fracture_surgery_is_timed_from_the_sdo_surgery_time(engine: LakeEngine) -> None:
    ind = default_indicators().get("hip_fracture_surgery_48h")
    r = compute_indicator(engine, ind, START, END)
    assert r.region["episodes"] > 0
    ages = r.episodes.column("age").to_pylist()
    assert min(ages) >= 65
    assert r.region["threshold"] == 60
    # The SDO's ora_intervento_principale reaches procedure_datetime ...
    timed = engine.query(
        "SELECT count(*) AS n FROM procedure_occurrence "
        "WHERE CAST(procedure_datetime AS TIME) <> TIME '00:00:00'"
    ).to_pylist()[0]["n"]
    assert timed > 0
    # ... and the synthetic hospitals operate some hip fractures late (about 38%).
    assert 20 < r.region["rate"] < 95


def test_a_separated_covariate_is_left_out_of_the_case_mix() -> None:
    from bmb.analytics.indicators import _fit

    rng = np.random.default_rng(3)
    n = 400
    age = rng.normal(0, 1, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(age - 1)))).astype(np.float64)
    rare = np.zeros(n)
    rare[np.flatnonzero(y == 1)[:3]] = 1.0  # present in 3 episodes, all with the event
    fitted = _fit(y, np.column_stack([age, rare]), ["age", "rare"])
    assert fitted is not None
    expected, odds = fitted
    assert [o["covariate"] for o in odds] == ["age"]
    assert odds[0]["odds_ratio"] > 1
    assert abs(expected.sum() - y.sum()) < 1e-6 * n  # logistic: expected = observed


def test_funnel_limits_match_the_normal_approximation_for_large_units() -> None:
    n = np.array([2000, 5000])
    for q, z in ((0.975, 1.959964), (0.999, 3.090232)):
        exact = binomial_limit(0.2, n, q)
        normal = 0.2 + z * np.sqrt(0.2 * 0.8 / n)
        assert np.allclose(exact, normal, atol=0.003)
    assert funnel_position(0.2, [100, 100, 100], [0.2, 0.31, 0.05]) == [
        "within",
        "above 95%",
        "below 99.8%",
    ]
    assert funnel_position(1.0, [10], [1.0]) == ["within"]


def test_definitions_are_documented_with_their_codes() -> None:
    from pathlib import Path

    doc = Path(__file__).resolve().parents[3] / "docs" / "reference" / "indicators.md"
    text = doc.read_text(encoding="utf-8")
    for ind in default_indicators().indicators:
        assert ind.name in text
        for code in ind.diagnosis_codes[:3]:
            assert code in text
