"""Outcome indicators by hospital, risk-adjusted, in the manner of Italy's PNE.

For each indicator (:mod:`bmb.domain.indicators`) and period:

1. the index episodes and their event (:mod:`bmb.analytics.indicators.episodes`);
2. each patient's covariates: age, sex, Charlson categories from hospital stays in the
   two years *before* the index admission (never from the index stay itself, whose
   secondary diagnoses may be complications of care, not case mix);
3. a logistic regression of the event on the covariates over all hospitals (statsmodels
   GLM), whose predictions give each hospital its **expected** events E; the
   **adjusted rate** is the regional rate times O/E (indirect standardization, as PNE
   does), with an exact Poisson interval on O;
4. each hospital's place in the funnel of binomial limits around the regional rate.

With too few events for a model (under 10 events or non-events, or a fit that fails),
the adjustment falls back to age and sex, then to none, and the result says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray
from scipy import stats

from bmb.analytics.comorbidity import ComorbiditySpec, comorbidity_sql
from bmb.analytics.indicators.episodes import episodes_sql
from bmb.analytics.population import provenance, require_duckdb
from bmb.analytics.rates.intervals import wilson
from bmb.analytics.stats.funnel import funnel_position
from bmb.domain.indicators import Indicator
from bmb.domain.provenance import Provenance
from bmb.domain.regions import load_region
from bmb.engines.capabilities import materialize

if TYPE_CHECKING:
    from bmb.engines.base import Engine

MIN_EVENTS = 10

_DERIVED = {
    "cc_diab_any": ("cc_diab", "cc_diabwc"),
    "cc_canc_any": ("cc_canc", "cc_metacanc"),
}


@dataclass(frozen=True, slots=True)
class IndicatorResult:
    """An indicator over a period: episodes, hospitals, the region, the model."""

    indicator: Indicator
    start: date
    end: date
    episodes: pa.Table  # one row per index episode with event and expected probability
    hospitals: pa.Table  # one row per hospital
    region: dict[str, Any]  # n, events, rate and interval, threshold, adjustment used
    coefficients: pa.Table  # covariate, odds ratio, interval (empty when unadjusted)
    provenance: Provenance


def _covariate_matrix(
    rows: pa.Table, names: tuple[str, ...]
) -> tuple[NDArray[np.float64], list[str]]:
    cols: list[NDArray[np.float64]] = []
    used: list[str] = []
    n = rows.num_rows
    for name in names:
        if name in _DERIVED:
            parts = [
                np.asarray(rows.column(c).to_numpy(zero_copy_only=False), dtype=bool)
                for c in _DERIVED[name]
            ]
            col = np.logical_or.reduce(parts).astype(np.float64)
        else:
            col = np.asarray(rows.column(name).to_numpy(zero_copy_only=False), dtype=np.float64)
        if name == "age":
            col = (col - 70.0) / 10.0  # per decade from 70: readable odds ratios
        if np.nanstd(col) > 0 or n == 0:
            cols.append(col)
            used.append(name)
    return (np.column_stack(cols) if cols else np.zeros((n, 0))), used


def _fit(
    y: NDArray[np.float64], x: NDArray[np.float64], names: list[str]
) -> tuple[NDArray[np.float64], list[dict[str, Any]]] | None:
    """Expected probabilities and odds ratios, or None when the model cannot be fitted."""
    import statsmodels.api as sm  # type: ignore[import-untyped]

    if y.sum() < MIN_EVENTS or (len(y) - y.sum()) < MIN_EVENTS:
        return None
    names = list(names)
    while True:
        design = sm.add_constant(x, has_constant="add")
        try:
            fit = sm.GLM(y, design, family=sm.families.Binomial()).fit()
        except (ValueError, np.linalg.LinAlgError):  # perfect separation, singular design
            return None
        params = np.asarray(fit.params)
        ci = np.asarray(fit.conf_int())
        # A covariate (quasi-)separated from the outcome (present in a handful of
        # episodes, all with or all without the event) has an estimate running off to
        # infinity: leave it out of the case mix and fit again, as PNE drops sparse
        # risk factors.
        wild = ~np.isfinite(params) | (np.abs(params) > 20) | ~np.all(np.isfinite(ci), axis=1)
        wild |= np.any(np.abs(np.nan_to_num(ci, nan=1e9)) > 30, axis=1)
        if not wild.any():
            break
        if wild[0] or not names:
            return None
        keep = ~wild[1:]
        x = x[:, keep]
        names = [n for n, k in zip(names, keep, strict=True) if k]
    odds = [
        {
            "covariate": name,
            "odds_ratio": float(math.exp(params[i + 1])),
            "lower": float(math.exp(ci[i + 1, 0])),
            "upper": float(math.exp(ci[i + 1, 1])),
            "p_value": float(np.asarray(fit.pvalues)[i + 1]),
        }
        for i, name in enumerate(names)
    ]
    return np.asarray(fit.predict(design), dtype=np.float64), odds


def compute_indicator(
    engine: Engine, ind: Indicator, start: date, end: date, *, region: str = "liguria"
) -> IndicatorResult:
    """The indicator over admissions from ``start`` to ``end`` (inclusive)."""
    require_duckdb(engine, "outcome indicators")
    name = f"bmb_ind_{ind.name}"
    materialize(engine, name, episodes_sql(ind, start, end))
    anchors = f"SELECT person_id, admission_date AS anchor_date, age FROM {name}"
    cmb = comorbidity_sql(
        anchors,
        ComorbiditySpec(lookback_days=ind.lookback_days, include_anchor_day=False),
        engine=engine,
    )
    rows = engine.query(
        f"SELECT e.*, c.* EXCLUDE (person_id, anchor_date, age) FROM {name} e "
        f"JOIN ({cmb}) c ON c.person_id = e.person_id AND c.anchor_date = e.admission_date "
        "ORDER BY e.hospital, e.person_id"
    )
    y = np.asarray(rows.column("event").to_numpy(zero_copy_only=False), dtype=np.float64)
    method, level = "none (crude)", "none"
    odds: list[dict[str, Any]] = []
    expected = np.full(len(y), y.mean() if len(y) else math.nan)
    for short, label, names in (
        ("case mix", "logistic: " + ", ".join(ind.covariates), ind.covariates),
        ("age and sex", "logistic: age, sex", ("age", "female")),
    ):
        x, used = _covariate_matrix(rows, names)
        fitted = _fit(y, x, used) if used else None
        if fitted is not None:
            expected, odds = fitted
            kept = [o["covariate"] for o in odds]
            method = "logistic: " + ", ".join(kept) if kept != list(used) else label
            level = short
            break
    episodes = pa.table(
        {
            "indicator": [ind.name] * rows.num_rows,
            "person_id": rows.column("person_id"),
            "visit_occurrence_id": rows.column("visit_occurrence_id"),
            "hospital": rows.column("hospital"),
            "admission_date": rows.column("admission_date"),
            "via_ed": rows.column("via_ed"),
            "age": rows.column("age"),
            "female": rows.column("female"),
            "event": rows.column("event"),
            "expected": pa.array(expected),
        }
    )
    overall = float(y.mean()) if len(y) else math.nan
    regional = wilson(int(y.sum()), len(y))
    hospitals = _by_hospital(episodes, overall, region)
    reg: dict[str, Any] = {
        "indicator": ind.name,
        "title": ind.title,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "episodes": len(y),
        "events": int(y.sum()),
        "rate": 100 * regional.value,
        "lower": 100 * regional.lower,
        "upper": 100 * regional.upper,
        "threshold": ind.threshold,
        "better": ind.better,
        "adjustment": method,
        "adjusted_for": level,
        "via_ed": int(np.sum(rows.column("via_ed").to_numpy(zero_copy_only=False))),
    }
    return IndicatorResult(
        indicator=ind,
        start=start,
        end=end,
        episodes=episodes,
        hospitals=hospitals,
        region=reg,
        coefficients=pa.Table.from_pylist(odds) if odds else pa.table({"covariate": []}),
        provenance=provenance(engine),
    )


def _by_hospital(episodes: pa.Table, overall: float, region: str) -> pa.Table:
    names = {h.code: h.name for h in load_region(region).hospitals}
    hosp = np.asarray(episodes.column("hospital").to_pylist())
    y = np.asarray(episodes.column("event").to_numpy(zero_copy_only=False), dtype=np.float64)
    e = np.asarray(episodes.column("expected").to_numpy(), dtype=np.float64)
    out = []
    for code in sorted(set(hosp.tolist())):
        m = hosp == code
        n, obs, exp = int(m.sum()), float(y[m].sum()), float(e[m].sum())
        ratio = obs / exp if exp > 0 else math.nan
        lo_o = 0.0 if obs == 0 else float(stats.chi2.ppf(0.025, 2 * obs)) / 2
        hi_o = float(stats.chi2.ppf(0.975, 2 * obs + 2)) / 2
        lower = overall * lo_o / exp if exp > 0 else math.nan
        upper = overall * hi_o / exp if exp > 0 else math.nan
        p = math.nan
        if exp > 0:
            p = min(
                1.0,
                2 * min(float(stats.poisson.cdf(obs, exp)), float(stats.poisson.sf(obs - 1, exp))),
            )
        out.append(
            {
                "hospital": code,
                "hospital_name": names.get(code, ""),
                "episodes": n,
                "observed": int(obs),
                "expected": exp,
                "crude": 100 * obs / n if n else math.nan,
                "adjusted": 100 * min(1.0, overall * ratio) if exp > 0 else math.nan,
                "lower": 100 * min(1.0, lower),
                "upper": 100 * min(1.0, upper),
                "observed_over_expected": ratio,
                "p_value": p,
            }
        )
    table = pa.Table.from_pylist(out)
    if table.num_rows:
        pos = funnel_position(
            overall,
            table.column("episodes").to_numpy(),
            np.asarray(table.column("adjusted").to_numpy(zero_copy_only=False)) / 100,
        )
        table = table.append_column("funnel", pa.array(pos))
    return table


__all__ = ["IndicatorResult", "compute_indicator"]
