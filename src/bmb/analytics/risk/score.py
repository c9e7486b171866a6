"""Scoring: the whole population on a date, or one person on demand, with reasons.

Scores come with a **percentile** and a **risk class** read against the model's
reference distribution (its predictions for the validation year, kept in the model),
so "top 1%" means the same thing for a district list and for one person looked up at
the desk. One person is scored from the CDM directly: the features are built for that
person alone (no cohort to define first), in well under a second on a regional lake.

Reasons are per-person feature contributions: Tree SHAP values of the LightGBM model
(exact for trees; in log-odds, summing with the base value to the prediction) and the
logistic baseline's terms, so a GP can see *why* a patient is on the list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from bmb.analytics.population import PopulationSpec, require_duckdb
from bmb.analytics.risk.dataset import matrix
from bmb.analytics.risk.features import Reuse, build_features
from bmb.analytics.risk.train import RiskModel
from bmb.domain.chronic import RuleSet
from bmb.domain.errors import UsageError

if TYPE_CHECKING:
    from bmb.engines.base import Engine

#: Risk classes by percentile of the reference distribution (upper bounds, exclusive).
CLASSES: tuple[tuple[float, str], ...] = (
    (80.0, "low"),
    (95.0, "moderate"),
    (99.0, "high"),
    (100.1, "very high"),
)


def percentile_of(model: RiskModel, risk: NDArray[np.float64]) -> NDArray[np.float64]:
    q = np.asarray(model.extra.get("reference_quantiles") or [], dtype=np.float64)
    if q.size == 0:
        raise UsageError("this model has no reference distribution; re-train it")
    idx = np.searchsorted(q, risk, side="right")
    return np.asarray(np.clip(idx - 1, 0, 100), dtype=np.float64)


def risk_class(percentile: NDArray[np.float64]) -> list[str]:
    bounds = np.array([b for b, _ in CLASSES])
    names = [n for _, n in CLASSES]
    return [names[int(i)] for i in np.searchsorted(bounds, percentile, side="right")]


def score_population(
    engine: Engine,
    model: RiskModel,
    on: date,
    *,
    rules: RuleSet | None = None,
    persons: tuple[int, ...] | None = None,
    prefix: str = "bmb_score",
    reuse: Reuse | None = None,
) -> pa.Table:
    """Risk of every resident (or of ``persons``) on ``on``.

    ``reuse`` names tables the planning pipeline already built for the same residents
    on the same date (registry, comorbidity, care used). Columns: person_id,
    anchor_date, unit_code, age_band, sex, risk (LightGBM), risk_logistic, percentile,
    risk_class.
    """
    require_duckdb(engine, "risk scoring")
    spec = PopulationSpec((on,), model.region, persons)
    feats = build_features(engine, spec, model.features, rules=rules, prefix=prefix, reuse=reuse)
    data = engine.query(
        f"SELECT f.*, p.unit_code, p.age_band, p.sex FROM {feats.table} f "
        f"JOIN {feats.population} p ON p.person_id = f.person_id ORDER BY f.person_id"
    )
    x = matrix(data, model.features.columns)
    risk = model.boosted.predict(x)
    pct = percentile_of(model, risk)
    return pa.table(
        {
            "person_id": data.column("person_id"),
            "anchor_date": data.column("anchor_date"),
            "unit_code": data.column("unit_code"),
            "age_band": data.column("age_band"),
            "sex": data.column("sex"),
            "risk": pa.array(risk),
            "risk_logistic": pa.array(model.logistic.predict(x)),
            "percentile": pa.array(pct),
            "risk_class": pa.array(risk_class(pct)),
        }
    )


@dataclass(frozen=True, slots=True)
class Reason:
    """One feature's value and how much it moves this person's log-odds."""

    feature: str
    value: float | None
    contribution: float


@dataclass(frozen=True, slots=True)
class PersonScore:
    """One person's risk, its percentile and class, and the reasons for it."""

    person_id: int
    on: date
    outcome: str
    risk: float
    risk_logistic: float
    percentile: float
    risk_class: str
    base_log_odds: float
    reasons: tuple[Reason, ...]  # LightGBM Tree SHAP, largest magnitude first
    logistic_reasons: tuple[Reason, ...]

    def as_rows(self) -> pa.Table:
        return pa.table(
            {
                "feature": [r.feature for r in self.reasons],
                "value": [r.value for r in self.reasons],
                "contribution": [r.contribution for r in self.reasons],
            }
        )


def _reasons(
    columns: tuple[str, ...], x: NDArray[np.float32], contrib: NDArray[np.float64], top: int
) -> tuple[Reason, ...]:
    order = np.argsort(-np.abs(contrib[: len(columns)]))[:top]
    return tuple(
        Reason(
            columns[j],
            None if np.isnan(x[j]) else float(x[j]),
            float(contrib[j]),
        )
        for j in order
        if contrib[j] != 0
    )


def score_person(
    engine: Engine,
    model: RiskModel,
    person_id: int,
    on: date,
    *,
    rules: RuleSet | None = None,
    top: int = 10,
) -> PersonScore:
    """Score one person on ``on`` from the CDM; raises if they are not a resident then."""
    data = score_population(
        engine, model, on, rules=rules, persons=(int(person_id),), prefix="bmb_score_one"
    )
    if data.num_rows == 0:
        raise UsageError(
            f"person {person_id} is not a resident on {on} (no observation period, or dead)"
        )
    feats = engine.query("SELECT * FROM bmb_score_one")
    x = matrix(feats, model.features.columns)
    shap = model.boosted.contributions(x)[0]
    logit_terms = model.logistic.contributions(x)[0]
    row = data.to_pylist()[0]
    return PersonScore(
        person_id=int(person_id),
        on=on,
        outcome=model.outcome.label,
        risk=float(row["risk"]),
        risk_logistic=float(row["risk_logistic"]),
        percentile=float(row["percentile"]),
        risk_class=str(row["risk_class"]),
        base_log_odds=float(shap[-1]),
        reasons=_reasons(model.features.columns, x[0], shap, top),
        logistic_reasons=_reasons(model.features.columns, x[0], logit_terms, top),
    )
