"""Validating a risk model: discrimination, calibration, overall accuracy.

* **AUC** (C-statistic) with the DeLong et al. (1988) variance, computed with the fast
  algorithm of Sun and Xu (2014) in O(n log n), and the paired DeLong test of two
  models on the same people (is LightGBM better than the logistic baseline?).
* **Calibration** in the sense of Van Calster et al. (2016, 2019): the intercept
  (calibration-in-the-large: logistic regression of the outcome on an offset of the
  predicted log-odds; 0 is perfect) and the slope (logistic regression on the predicted
  log-odds; 1 is perfect, below 1 means too extreme predictions), plus a table of
  observed against predicted risk by tenth of predicted risk for the plot.
* **Brier score** and the scaled Brier (1 - Brier / Brier of the event rate).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from bmb.analytics.stats.proportions import wilson_arrays

_EPS = 1e-12


@dataclass(frozen=True, slots=True)
class Auc:
    value: float
    se: float
    lower: float
    upper: float


@dataclass(frozen=True, slots=True)
class AucDifference:
    """AUC(a) - AUC(b) on the same people, DeLong's paired variance."""

    difference: float
    lower: float
    upper: float
    p_value: float


@dataclass(frozen=True, slots=True)
class Calibration:
    intercept: float
    intercept_lower: float
    intercept_upper: float
    slope: float
    slope_lower: float
    slope_upper: float


def _midranks(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """Ranks 1..n with ties given their average rank."""
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    n = len(x)
    ranks = np.empty(n, dtype=np.float64)
    # Runs of equal values share the mean of their positions.
    boundaries = np.flatnonzero(np.diff(xs)) + 1
    starts = np.concatenate(([0], boundaries))
    ends = np.concatenate((boundaries, [n]))
    mids = (starts + ends - 1) / 2.0 + 1.0
    run_of = np.repeat(np.arange(len(starts)), ends - starts)
    ranks[order] = mids[run_of]
    return ranks


def _delong_components(
    y: NDArray[np.int8], scores: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """AUCs and the structural components (v10, v01) for k score vectors (k x n)."""
    pos, neg = scores[:, y == 1], scores[:, y == 0]
    m, n = pos.shape[1], neg.shape[1]
    k = scores.shape[0]
    aucs = np.empty(k)
    v10 = np.empty((k, m))
    v01 = np.empty((k, n))
    for r in range(k):
        tx = _midranks(pos[r])
        ty = _midranks(neg[r])
        tz = _midranks(np.concatenate((pos[r], neg[r])))
        aucs[r] = (tz[:m].sum() - m * (m + 1) / 2.0) / (m * n)
        v10[r] = (tz[:m] - tx) / n
        v01[r] = 1.0 - (tz[m:] - ty) / m
    return aucs, v10, v01


def _check(y: ArrayLike, *scores: ArrayLike) -> tuple[NDArray[np.int8], NDArray[np.float64]]:
    yy = np.asarray(y).astype(np.int8)
    s = np.vstack([np.asarray(x, dtype=np.float64) for x in scores])
    if s.shape[1] != yy.shape[0]:
        raise ValueError("outcomes and scores differ in length")
    if yy.min(initial=1) == yy.max(initial=0):
        raise ValueError("an AUC needs both events and non-events")
    return yy, s


def auc_delong(y: ArrayLike, score: ArrayLike, alpha: float = 0.05) -> Auc:
    """The AUC with DeLong's standard error and a normal interval (clipped to [0, 1])."""
    yy, s = _check(y, score)
    aucs, v10, v01 = _delong_components(yy, s)
    m, n = v10.shape[1], v01.shape[1]
    var = float(np.var(v10[0], ddof=1) / m + np.var(v01[0], ddof=1) / n)
    se = math.sqrt(max(var, 0.0))
    z = float(stats.norm.ppf(1 - alpha / 2))
    a = float(aucs[0])
    return Auc(a, se, max(0.0, a - z * se), min(1.0, a + z * se))


def auc_difference(y: ArrayLike, a: ArrayLike, b: ArrayLike, alpha: float = 0.05) -> AucDifference:
    """DeLong's paired test of two scores on the same outcomes."""
    yy, s = _check(y, a, b)
    aucs, v10, v01 = _delong_components(yy, s)
    m, n = v10.shape[1], v01.shape[1]
    cov = np.cov(v10) / m + np.cov(v01) / n
    var = float(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    diff = float(aucs[0] - aucs[1])
    se = math.sqrt(max(var, _EPS))
    z = float(stats.norm.ppf(1 - alpha / 2))
    p = float(2 * stats.norm.sf(abs(diff) / se))
    return AucDifference(diff, diff - z * se, diff + z * se, p)


def brier(y: ArrayLike, p: ArrayLike) -> tuple[float, float]:
    """Brier score and scaled Brier (1 - Brier / Brier of predicting the event rate)."""
    yy = np.asarray(y, dtype=np.float64)
    pp = np.asarray(p, dtype=np.float64)
    score = float(np.mean((pp - yy) ** 2))
    rate = float(yy.mean())
    ref = rate * (1 - rate)
    return score, (1 - score / ref) if ref > 0 else math.nan


def _logit(p: NDArray[np.float64]) -> NDArray[np.float64]:
    q = np.clip(p, 1e-7, 1 - 1e-7)
    return np.asarray(np.log(q / (1 - q)))


def calibration(y: ArrayLike, p: ArrayLike, alpha: float = 0.05) -> Calibration:
    """Calibration intercept (with the slope fixed at 1) and slope, with Wald intervals."""
    import statsmodels.api as sm  # type: ignore[import-untyped]

    yy = np.asarray(y, dtype=np.float64)
    lp = _logit(np.asarray(p, dtype=np.float64))
    ones = np.ones((len(yy), 1))
    citl = sm.GLM(yy, ones, family=sm.families.Binomial(), offset=lp).fit()
    slope_fit = sm.GLM(yy, np.column_stack((ones, lp)), family=sm.families.Binomial()).fit()
    ci_i = np.asarray(citl.conf_int(alpha))
    ci_s = np.asarray(slope_fit.conf_int(alpha))
    return Calibration(
        intercept=float(citl.params[0]),
        intercept_lower=float(ci_i[0, 0]),
        intercept_upper=float(ci_i[0, 1]),
        slope=float(slope_fit.params[1]),
        slope_lower=float(ci_s[1, 0]),
        slope_upper=float(ci_s[1, 1]),
    )


def calibration_table(y: ArrayLike, p: ArrayLike, bins: int = 10) -> list[dict[str, float]]:
    """Observed against mean predicted risk by group of predicted risk (equal sizes)."""
    yy = np.asarray(y, dtype=np.float64)
    pp = np.asarray(p, dtype=np.float64)
    order = np.argsort(pp, kind="mergesort")
    groups = np.array_split(order, bins)
    events = np.array([yy[g].sum() for g in groups])
    sizes = np.array([len(g) for g in groups])
    obs, lo, hi = wilson_arrays(events, sizes)
    return [
        {
            "group": float(i + 1),
            "n": float(sizes[i]),
            "predicted": float(pp[g].mean()) if len(g) else math.nan,
            "observed": float(obs[i]),
            "lower": float(lo[i]),
            "upper": float(hi[i]),
        }
        for i, g in enumerate(groups)
    ]


def roc_points(y: ArrayLike, p: ArrayLike, points: int = 200) -> list[tuple[float, float]]:
    """(false positive rate, true positive rate) at up to ``points`` thresholds."""
    yy = np.asarray(y, dtype=np.int8)
    pp = np.asarray(p, dtype=np.float64)
    order = np.argsort(-pp, kind="mergesort")
    tps = np.cumsum(yy[order])
    fps = np.cumsum(1 - yy[order])
    pos, neg = max(int(tps[-1]), 1), max(int(fps[-1]), 1)
    idx = np.unique(np.linspace(0, len(pp) - 1, min(points, len(pp))).astype(int))
    return [(0.0, 0.0), *((float(fps[i] / neg), float(tps[i] / pos)) for i in idx)]
