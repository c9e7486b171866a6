"""The synthetic region matches the calibration figures of the reference, within tolerances.

Figures are from ``../shared/reference/italian-health-data.md``: section 4 (Liguria) and
section 5 (Italy, against which prevalences are age-standardized, see
:mod:`tests.synth.measures`). Each tolerance is the figure's uncertainty plus the
sampling noise of the session region (about 48,000 person-years: a rate of 15.9 per
1,000 has a standard error of about 4%, a prevalence of 18% of about 0.2 points);
figures tagged [M] in the reference, or measured on a different list of conditions,
get wider tolerances, said case by case.
"""

from __future__ import annotations

import numpy as np
import pytest

from bmb.synth.health import _q_death, load_model
from tests.synth import measures as m
from tests.synth.conftest import FIRST_YEAR, Region


@pytest.fixture(scope="module")
def years(region: Region) -> float:
    return m.person_years(region)


@pytest.fixture(scope="module")
def start(region: Region) -> m.Population:
    return m.on_day(region, f"{FIRST_YEAR}-01-01")


@pytest.fixture(scope="module")
def mid(region: Region) -> m.Population:
    return m.on_day(region, f"{FIRST_YEAR}-07-01")


def test_age_structure_is_liguria(start: m.Population) -> None:
    # Section 4 [V]: 29% aged 65+, 10.5% aged 0-14. Sampling noise ~0.3 points.
    assert (start.age >= 65).mean() == pytest.approx(0.29, abs=0.012)
    assert (start.age < 15).mean() == pytest.approx(0.105, abs=0.01)


def test_death_rate_is_liguria(region: Region, years: float) -> None:
    # Section 4 [V]: 15.9 per 1,000 (2022). Noise ~4%: tolerance 10%.
    assert m.records(region, "deaths") / years * 1000 == pytest.approx(15.9, rel=0.10)


def test_life_expectancy_of_the_mortality_curve() -> None:
    # Section 4 [V]: 81.0 (men) and 85.2 (women) at birth; the model's curve, no noise.
    model = load_model()
    age = np.arange(0, 111) + 0.5
    for female, expected in ((False, 81.0), (True, 85.2)):
        q = _q_death(model, age, np.full(len(age), female))
        alive = np.cumprod(np.concatenate([[1.0], 1 - q]))[:-1]
        assert float((alive * (1 - q / 2)).sum()) == pytest.approx(expected, abs=0.5)


def test_hospital_discharges_per_1000(region: Region, years: float) -> None:
    # Section 5 [V]: about 130 per 1,000 a year (all stays). Noise ~1.5%: tolerance 10%.
    assert m.records(region, "sdo_b") / years * 1000 == pytest.approx(130, rel=0.10)


def test_emergency_visits_per_1000(region: Region, years: float) -> None:
    # Section 1 and 5 [V]: about 310 per 1,000 a year. Tolerance 10%.
    assert m.records(region, "emur") / years * 1000 == pytest.approx(310, rel=0.10)


def test_emergency_outcomes_and_triage(region: Region) -> None:
    # Section 1 [V, AGENAS 2023]: ~12% admitted, white + green ~60%, red 2.3%.
    assert m.share(region, "emur", "esito_trattamento", {"2"}) == pytest.approx(0.12, abs=0.02)
    assert m.share(region, "emur", "triage", {"4", "5"}) == pytest.approx(0.60, abs=0.05)
    assert m.share(region, "emur", "triage", {"1"}) == pytest.approx(0.023, abs=0.008)


def test_prescriptions_per_person_year(region: Region, years: float) -> None:
    # Section 5 [V, OsMed, Italy]: about 10 SSN prescriptions (ricette) per person a year.
    # Liguria's own figure is not in the reference and it is older: tolerance 15%.
    assert m.prescriptions(region) / years == pytest.approx(10, rel=0.15)
    # A prescription holds one or two packs.
    packs_per_rx = m.packs(region) / m.prescriptions(region)
    assert 1.4 < packs_per_rx < 2.0


@pytest.mark.parametrize(
    ("condition", "expected", "tolerance"),
    [
        ("hypertension", 0.18, 0.02),  # [V] about 18%
        ("heart_failure", 0.015, 0.007),  # [M] 1-2%
        ("ckd", 0.07, 0.02),  # [M] about 7%
        ("copd", 0.059, 0.015),  # [V] 3.5 M self-reported of 59 M
    ],
)
def test_prevalence_standardized_to_italy(
    mid: m.Population, condition: str, expected: float, tolerance: float
) -> None:
    assert m.standardized(mid, mid.has(condition)) == pytest.approx(expected, abs=tolerance)


def test_diabetes_prevalence_overall_and_at_80(mid: m.Population) -> None:
    # Section 5 [V]: 5.5-6.5% overall, about 20% at age 80 (ages 78-82: ~1,300 people).
    assert 0.052 <= m.standardized(mid, mid.has("diabetes")) <= 0.068
    at_80 = (mid.age >= 78) & (mid.age < 83)
    assert mid.has("diabetes")[at_80].mean() == pytest.approx(0.20, abs=0.04)


def test_dementia_among_people_65_and_over(mid: m.Population) -> None:
    # Section 5 [V]: about 8% of people 65+ (standardized within 65+).
    assert m.standardized(mid, mid.has("dementia"), min_age=65) == pytest.approx(0.08, abs=0.015)


def test_multimorbidity(mid: m.Population) -> None:
    # Section 5 [V]: >=1 chronic about 40%, >=2 about 21% (ISTAT, self-reported over a
    # longer list of conditions than the 19 modelled): tolerance 4 and 3 points.
    count = mid.conditions.sum(axis=1)
    assert m.standardized(mid, count >= 1) == pytest.approx(0.40, abs=0.04)
    assert m.standardized(mid, count >= 2) == pytest.approx(0.21, abs=0.03)
    # Conditions cluster in the same people (the frailty term), even at one age: the
    # count of conditions varies more than it would with independent conditions.
    band = (mid.age >= 70) & (mid.age < 80)
    held = mid.conditions[band]
    p = held.mean(axis=0)
    assert held.sum(axis=1).var() > 1.2 * float((p * (1 - p)).sum())
