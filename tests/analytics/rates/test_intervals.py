"""Confidence intervals against published reference values."""

from __future__ import annotations

import math

import pytest

from bmb.analytics.rates.intervals import direct_standardized, poisson_exact, rate, wilson
from bmb.domain.populations import esp2013


@pytest.mark.parametrize(
    ("count", "lower", "upper"),
    [
        # Exact Poisson 95% limits as tabulated (e.g. Ulm 1990; Rothman & Greenland).
        (0, 0.0, 3.689),
        (1, 0.0253, 5.572),
        (3, 0.6187, 8.767),
        (10, 4.795, 18.39),
    ],
)
def test_poisson_exact_matches_tables(count: int, lower: float, upper: float) -> None:
    lo, hi = poisson_exact(count)
    assert lo == pytest.approx(lower, abs=1e-3)
    assert hi == pytest.approx(upper, rel=1e-3)


def test_rate_scales_counts_by_person_time() -> None:
    est = rate(10, 2000.0, per=1000.0)
    assert est.value == pytest.approx(5.0)
    assert est.lower == pytest.approx(4.795 / 2, rel=1e-3)
    assert est.upper == pytest.approx(18.39 / 2, rel=1e-3)


def test_rate_without_person_time_is_not_a_number() -> None:
    assert math.isnan(rate(0, 0.0).value)


def test_wilson_matches_newcombe_example() -> None:
    # Newcombe (1998), Stat Med 17:857, example 81/263: Wilson 0.2553 to 0.3662.
    est = wilson(81, 263)
    assert est.value == pytest.approx(81 / 263)
    assert est.lower == pytest.approx(0.2553, abs=1e-4)
    assert est.upper == pytest.approx(0.3662, abs=1e-4)


def test_wilson_is_closed_at_zero_and_one() -> None:
    assert wilson(0, 10).lower == 0.0
    assert wilson(10, 10).upper == 1.0
    # Newcombe's 0/10 example: 0 to 0.2775.
    assert wilson(0, 10).upper == pytest.approx(0.2775, abs=1e-4)


def test_fay_feuer_reduces_to_exact_poisson_with_one_stratum() -> None:
    est = direct_standardized([10], [2000.0], [1.0], per=1000.0)
    lo, hi = poisson_exact(10)
    assert est.value == pytest.approx(5.0)
    assert est.lower == pytest.approx(lo / 2)
    assert est.upper == pytest.approx(hi / 2)


def test_direct_standardization_weights_stratum_rates() -> None:
    # Two strata, rates 1/1000 and 4/1000, weights 3:1 -> (3*1 + 1*4)/4 = 1.75 per 1000.
    est = direct_standardized([10, 20], [10_000.0, 5_000.0], [3.0, 1.0], per=1000.0)
    assert est.value == pytest.approx(1.75)
    assert est.lower < 1.75 < est.upper


def test_standardization_skips_strata_without_person_time() -> None:
    est = direct_standardized([1, 0], [1000.0, 0.0], [1.0, 9.0])
    assert est.value == pytest.approx(1.0)


def test_esp2013_has_19_bands_summing_to_100000() -> None:
    pop = esp2013()
    assert len(pop.bands) == 19
    assert pop.total == 100_000
    assert pop.bands[0].label == "0-4"
    assert pop.bands[-1].label == "90+"
    assert pop.weight(pop.band_of(52)) == 7000
    assert pop.band_of(101).label == "90+"
