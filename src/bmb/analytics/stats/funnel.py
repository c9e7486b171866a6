"""Funnel-plot control limits for proportions (Spiegelhalter, *Stat Med* 2005;24:1185).

A unit with ``n`` cases is compared with the target proportion ``p0``: its limits at
probability ``q`` are the exact binomial quantiles, interpolated so that they change
smoothly with ``n`` (Spiegelhalter's appendix A.1.1), divided by ``n``. Limits at 95%
and 99.8% are the usual "warning" and "alarm" lines (about 2 and 3 standard errors).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats


def binomial_limit(p0: float, n: ArrayLike, q: float) -> NDArray[np.float64]:
    """The ``q`` control limit (as a proportion) for units of size ``n``."""
    nn = np.maximum(np.rint(np.asarray(n, dtype=np.float64)), 1.0)  # whole cases
    r = stats.binom.ppf(q, nn, p0)
    f_r = stats.binom.cdf(r, nn, p0)
    f_r1 = stats.binom.cdf(r - 1, nn, p0)
    with np.errstate(invalid="ignore", divide="ignore"):
        alpha = np.where(f_r > f_r1, (f_r - q) / (f_r - f_r1), 0.0)
    return np.asarray(np.clip((r - alpha) / nn, 0.0, 1.0))


def funnel_position(p0: float, n: ArrayLike, rate: ArrayLike) -> list[str]:
    """Where each unit's rate falls: 'above 99.8%', 'above 95%', 'within', 'below ...'."""
    nn = np.asarray(n, dtype=np.float64)
    rr = np.asarray(rate, dtype=np.float64)
    if not 0.0 < p0 < 1.0:  # every unit at 0% or 100%: no spread to judge
        return ["within"] * len(rr)
    hi3, hi2 = binomial_limit(p0, nn, 0.999), binomial_limit(p0, nn, 0.975)
    lo3, lo2 = binomial_limit(p0, nn, 0.001), binomial_limit(p0, nn, 0.025)
    out = []
    eps = 1e-12
    for x, a3, a2, b3, b2 in zip(rr, hi3, hi2, lo3, lo2, strict=True):
        if np.isnan(x):
            out.append("")
        elif x > a3 + eps:
            out.append("above 99.8%")
        elif x > a2 + eps:
            out.append("above 95%")
        elif x < b3 - eps:
            out.append("below 99.8%")
        elif x < b2 - eps:
            out.append("below 95%")
        else:
            out.append("within")
    return out
