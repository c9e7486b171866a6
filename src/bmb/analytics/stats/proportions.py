"""Proportions with Wilson score intervals, many at once."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats


def wilson_arrays(
    successes: ArrayLike, totals: ArrayLike, alpha: float = 0.05
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Proportions and Wilson limits for arrays of counts (NaN where the total is 0).

    Same estimator as :func:`bmb.analytics.rates.intervals.wilson`: limits are exactly
    0 with no successes and exactly 1 when all are successes.
    """
    k = np.asarray(successes, dtype=np.float64)
    n = np.asarray(totals, dtype=np.float64)
    z = float(stats.norm.ppf(1 - alpha / 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
        lower = np.where(k == 0, 0.0, np.maximum(0.0, centre - half))
        upper = np.where(k == n, 1.0, np.minimum(1.0, centre + half))
    empty = n <= 0
    return (
        np.where(empty, np.nan, p),
        np.where(empty, np.nan, lower),
        np.where(empty, np.nan, upper),
    )
