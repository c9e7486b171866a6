"""Multiple testing: the Benjamini-Hochberg false discovery rate."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray


def benjamini_hochberg(p_values: ArrayLike) -> NDArray[np.float64]:
    """BH-adjusted p-values (q-values); NaN p-values stay NaN and are not counted.

    Rejecting every hypothesis with q < alpha controls the false discovery rate at
    alpha for independent or positively dependent tests (Benjamini and Hochberg 1995).
    """
    p = np.asarray(p_values, dtype=np.float64)
    q = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    m = int(ok.sum())
    if m == 0:
        return q
    order = np.argsort(p[ok])
    ranked = p[ok][order] * m / np.arange(1, m + 1)
    adjusted = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(adjusted, 1.0)
    q[ok] = out
    return q
