"""Confidence intervals for counts, rates and proportions.

* Exact Poisson interval for a count (Garwood, 1936), from the chi-square quantiles:
  the interval epidemiologists publish for incidence rates, exact even for 0 cases.
* Wilson score interval for a proportion (Wilson, 1927): well-behaved near 0 and 1,
  recommended over Wald by Newcombe (1998) and Brown, Cai and DasGupta (2001).
* Directly standardized rate with the gamma interval of Fay and Feuer (1997), the
  method of R's ``epitools::ageadjust.direct`` and ``dsr``: it reduces to the exact
  Poisson interval when there is one stratum.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats


@dataclass(frozen=True, slots=True)
class Estimate:
    """A point estimate with its confidence interval."""

    value: float
    lower: float
    upper: float


def poisson_exact(count: int, alpha: float = 0.05) -> tuple[float, float]:
    """Exact (Garwood) confidence limits for a Poisson count."""
    if count < 0:
        raise ValueError("a count cannot be negative")
    lower = 0.0 if count == 0 else float(stats.chi2.ppf(alpha / 2, 2 * count)) / 2
    upper = float(stats.chi2.ppf(1 - alpha / 2, 2 * count + 2)) / 2
    return lower, upper


def rate(count: int, person_time: float, *, per: float = 1000.0, alpha: float = 0.05) -> Estimate:
    """``count / person_time`` scaled by ``per`` with exact Poisson limits."""
    if person_time <= 0:
        return Estimate(math.nan, math.nan, math.nan)
    lower, upper = poisson_exact(count, alpha)
    scale = per / person_time
    return Estimate(count * scale, lower * scale, upper * scale)


def wilson(successes: int, total: int, alpha: float = 0.05) -> Estimate:
    """A proportion with its Wilson score interval."""
    if total <= 0:
        return Estimate(math.nan, math.nan, math.nan)
    if not 0 <= successes <= total:
        raise ValueError("successes must be between 0 and the total")
    z = float(stats.norm.ppf(1 - alpha / 2))
    p = successes / total
    denom = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denom
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denom
    lower = 0.0 if successes == 0 else max(0.0, centre - half)
    upper = 1.0 if successes == total else min(1.0, centre + half)
    return Estimate(p, lower, upper)


def direct_standardized(
    counts: Sequence[int],
    person_time: Sequence[float],
    weights: Sequence[float],
    *,
    per: float = 1000.0,
    alpha: float = 0.05,
) -> Estimate:
    """Directly standardized rate with the Fay-Feuer gamma interval.

    Strata with no person-time are left out and the remaining weights renormalized;
    callers report which strata were missing.
    """
    rows = [(c, n, w) for c, n, w in zip(counts, person_time, weights, strict=True) if n > 0]
    if not rows:
        return Estimate(math.nan, math.nan, math.nan)
    total_w = sum(w for _, _, w in rows)
    ws = [(c, n, w / total_w) for c, n, w in rows]
    value = sum(w * c / n for c, n, w in ws)
    var = sum(w * w * c / (n * n) for c, n, w in ws)
    wm = max(w / n for _, n, w in ws)
    if value == 0 or var == 0:
        lower = 0.0
    else:
        lower = float(stats.gamma.ppf(alpha / 2, value * value / var, scale=var / value))
    shape = (value + wm) ** 2 / (var + wm * wm)
    scale = (var + wm * wm) / (value + wm)
    upper = float(stats.gamma.ppf(1 - alpha / 2, shape, scale=scale))
    return Estimate(value * per, lower * per, upper * per)
