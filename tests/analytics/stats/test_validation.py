"""Validation statistics against brute-force definitions and scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import brier_score_loss, roc_auc_score

from bmb.analytics.rates.intervals import wilson
from bmb.analytics.stats.proportions import wilson_arrays
from bmb.analytics.stats.validation import (
    auc_delong,
    auc_difference,
    brier,
    calibration,
    calibration_table,
)


@pytest.fixture
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    y = (rng.random(1500) < 0.15).astype(np.int8)
    a = np.round(y * 0.9 + rng.normal(size=1500), 1)  # ties on purpose
    b = y * 0.4 + rng.normal(size=1500)
    return y, a, b


def _brute(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pos, neg = s[y == 1], s[y == 0]
    psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    return psi.mean(axis=1), psi.mean(axis=0)


def test_delong_auc_and_variance_match_the_definition(data: tuple[np.ndarray, ...]) -> None:
    y, a, _ = data
    got = auc_delong(y, a)
    v10, v01 = _brute(y, a)
    se = np.sqrt(v10.var(ddof=1) / len(v10) + v01.var(ddof=1) / len(v01))
    assert got.value == pytest.approx(roc_auc_score(y, a), abs=1e-12)
    assert got.se == pytest.approx(se, rel=1e-9)
    assert got.lower < got.value < got.upper


def test_paired_delong_matches_the_definition(data: tuple[np.ndarray, ...]) -> None:
    y, a, b = data
    got = auc_difference(y, a, b)
    va10, va01 = _brute(y, a)
    vb10, vb01 = _brute(y, b)
    s10 = np.cov(np.vstack((va10, vb10)))
    s01 = np.cov(np.vstack((va01, vb01)))
    var = (s10[0, 0] + s10[1, 1] - 2 * s10[0, 1]) / len(va10) + (
        s01[0, 0] + s01[1, 1] - 2 * s01[0, 1]
    ) / len(va01)
    assert got.difference == pytest.approx(roc_auc_score(y, a) - roc_auc_score(y, b))
    assert (got.upper - got.difference) / 1.959963984540054 == pytest.approx(np.sqrt(var))
    assert got.p_value < 0.01


def test_calibration_of_true_probabilities_is_near_perfect() -> None:
    rng = np.random.default_rng(5)
    p = rng.beta(1, 12, size=40_000)
    y = (rng.random(40_000) < p).astype(np.int8)
    c = calibration(y, p)
    assert c.intercept_lower < 0 < c.intercept_upper
    assert c.slope_lower < 1 < c.slope_upper
    overconfident = calibration(y, np.clip(p * 2, 0, 0.99))
    assert overconfident.intercept < -0.3
    b, scaled = brier(y, p)
    assert b == pytest.approx(brier_score_loss(y, p))
    assert 0 < scaled < 1
    table = calibration_table(y, p)
    assert sum(r["n"] for r in table) == 40_000
    assert all(r["lower"] <= r["observed"] <= r["upper"] for r in table)


def test_vectorized_wilson_equals_the_scalar_reference() -> None:
    k = np.array([0, 1, 5, 50, 100, 7])
    n = np.array([10, 10, 100, 100, 100, 0])
    p, lo, hi = wilson_arrays(k, n)
    for i in range(5):
        ref = wilson(int(k[i]), int(n[i]))
        assert (p[i], lo[i], hi[i]) == pytest.approx((ref.value, ref.lower, ref.upper))
    assert np.isnan(p[5])
