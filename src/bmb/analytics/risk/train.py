"""Train and validate a 12-month risk model with temporal validation.

The model learns from residents on 31 December of the training year and their outcome
in the following year, and is judged on residents on 31 December of a *later* year and
their outcome after it: the way it will be used (trained on the past, applied to the
present), which a random split would flatter. Both the LightGBM model and the logistic
baseline are validated on the same people, with AUC (DeLong interval), the paired AUC
difference, calibration intercept and slope, and the Brier score; LightGBM's AUC is
also reported by sex and age band.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from bmb._version import __version__
from bmb.analytics.cohort.runner import engine_name
from bmb.analytics.population import require_duckdb
from bmb.analytics.risk.dataset import Dataset, Outcome, labelled
from bmb.analytics.risk.features import FeatureSpec, discover
from bmb.analytics.risk.models import BoostedModel, LogisticModel, fit_boosted, fit_logistic
from bmb.analytics.stats.validation import (
    Auc,
    AucDifference,
    Calibration,
    auc_delong,
    auc_difference,
    brier,
    calibration,
    calibration_table,
    roc_points,
)
from bmb.domain.chronic import RuleSet
from bmb.domain.errors import UsageError
from bmb.domain.provenance import Provenance
from bmb.engines.capabilities import snapshot_of

if TYPE_CHECKING:
    from bmb.engines.base import Engine

MIN_EVENTS = 10


def reference_quantiles(predictions: NDArray[np.float64]) -> list[float]:
    """The 0th..100th percentiles of the validation predictions (kept in the model)."""
    return [float(v) for v in np.quantile(predictions, np.linspace(0, 1, 101))]


@dataclass(frozen=True, slots=True)
class Metrics:
    """How well one model's predictions fit the outcomes of one data set."""

    n: int
    events: int
    auc: Auc
    brier: float
    scaled_brier: float
    calibration: Calibration
    mean_predicted: float
    calibration_table: tuple[dict[str, float], ...]
    roc: tuple[tuple[float, float], ...]

    def as_dict(self) -> dict[str, Any]:
        c = self.calibration
        return {
            "n": self.n,
            "events": self.events,
            "event_rate": self.events / self.n if self.n else None,
            "mean_predicted": self.mean_predicted,
            "auc": self.auc.value,
            "auc_lower": self.auc.lower,
            "auc_upper": self.auc.upper,
            "brier": self.brier,
            "scaled_brier": self.scaled_brier,
            "calibration_intercept": c.intercept,
            "calibration_intercept_lower": c.intercept_lower,
            "calibration_intercept_upper": c.intercept_upper,
            "calibration_slope": c.slope,
            "calibration_slope_lower": c.slope_lower,
            "calibration_slope_upper": c.slope_upper,
            "calibration_table": list(self.calibration_table),
            "roc": [list(p) for p in self.roc],
        }


def measure(y: NDArray[np.int8], p: NDArray[np.float64]) -> Metrics:
    """Every validation measure of predictions ``p`` for outcomes ``y``."""
    b, sb = brier(y, p)
    return Metrics(
        n=len(y),
        events=int(y.sum()),
        auc=auc_delong(y, p),
        brier=b,
        scaled_brier=sb,
        calibration=calibration(y, p),
        mean_predicted=float(np.mean(p)),
        calibration_table=tuple(calibration_table(y, p)),
        roc=tuple(roc_points(y, p)),
    )


@dataclass(frozen=True, slots=True)
class RiskModel:
    """A trained risk model: both fitted models, what they saw, how they validated."""

    outcome: Outcome
    horizon_days: int
    train_year: int
    validation_year: int
    features: FeatureSpec
    boosted: BoostedModel
    logistic: LogisticModel
    train_n: int
    train_events: int
    train_excluded: int
    validation: dict[str, Metrics]  # "lightgbm", "logistic"
    difference: AucDifference  # lightgbm minus logistic
    subgroups: tuple[dict[str, Any], ...]
    provenance: Provenance
    seconds: float
    region: str = "liguria"
    extra: dict[str, Any] = field(default_factory=dict)

    def predict(self, x: NDArray[np.float32]) -> NDArray[np.float64]:
        """The model's risk (LightGBM)."""
        return self.boosted.predict(x)


@dataclass(frozen=True, slots=True)
class TrainingRun:
    """The model and the validation data it was judged on (for plots and truth checks)."""

    model: RiskModel
    validation: Dataset
    predictions: dict[str, NDArray[np.float64]]


def _subgroups(ds: Dataset, p: NDArray[np.float64]) -> tuple[dict[str, Any], ...]:
    age = ds.x[:, ds.columns.index("age")]
    female = ds.x[:, ds.columns.index("female")]
    groups = {
        "female": female == 1,
        "male": female == 0,
        "age 0-64": age < 65,
        "age 65-79": (age >= 65) & (age < 80),
        "age 80+": age >= 80,
    }
    out = []
    for name, mask in groups.items():
        y = ds.y[mask]
        if y.sum() < MIN_EVENTS or (len(y) - y.sum()) < MIN_EVENTS:
            out.append({"group": name, "n": int(mask.sum()), "events": int(y.sum()), "auc": None})
            continue
        a = auc_delong(y, p[mask])
        out.append(
            {
                "group": name,
                "n": int(mask.sum()),
                "events": int(y.sum()),
                "observed": float(y.mean()),
                "predicted": float(p[mask].mean()),
                "auc": a.value,
                "auc_lower": a.lower,
                "auc_upper": a.upper,
            }
        )
    return tuple(out)


def train_risk_model(
    engine: Engine,
    outcome: Outcome,
    train_year: int,
    *,
    validation_year: int | None = None,
    rules: RuleSet | None = None,
    region: str = "liguria",
    horizon_days: int = 365,
    trees: int | None = None,
) -> TrainingRun:
    """Train on ``train_year``, validate on ``validation_year`` (default: the next one).

    ``trees`` fixes LightGBM's number of trees (default: early stopping).
    """
    require_duckdb(engine, "risk models")
    t0 = time.perf_counter()
    vyear = validation_year if validation_year is not None else train_year + 1
    if vyear <= train_year:
        raise UsageError("the validation year must come after the training year")
    spec = discover(engine, rules)
    train = labelled(
        engine, train_year, outcome, spec, rules=rules, region=region, horizon_days=horizon_days
    )
    valid = labelled(
        engine, vyear, outcome, spec, rules=rules, region=region, horizon_days=horizon_days
    )
    for name, ds in (("training", train), ("validation", valid)):
        if ds.events < MIN_EVENTS or ds.n - ds.events < MIN_EVENTS:
            raise UsageError(
                f"the {name} year has {ds.events} events among {ds.n:,} residents: too few to "
                f"fit or judge a model (at least {MIN_EVENTS} needed)"
            )
    boosted = fit_boosted(train.x, train.y, spec.columns, trees=trees)
    logistic = fit_logistic(train.x, train.y, spec.columns)
    p_boost = boosted.predict(valid.x)
    p_logit = logistic.predict(valid.x)
    metrics = {"lightgbm": measure(valid.y, p_boost), "logistic": measure(valid.y, p_logit)}
    model = RiskModel(
        outcome=outcome,
        horizon_days=horizon_days,
        train_year=train_year,
        validation_year=vyear,
        features=spec,
        boosted=boosted,
        logistic=logistic,
        train_n=train.n,
        train_events=train.events,
        train_excluded=train.excluded,
        validation=metrics,
        difference=auc_difference(valid.y, p_boost, p_logit),
        subgroups=_subgroups(valid, p_boost),
        provenance=Provenance.now(
            snapshot_id=snapshot_of(engine), bmb_version=__version__, engine=engine_name(engine)
        ),
        seconds=time.perf_counter() - t0,
        region=region,
        extra={
            "validation_excluded": valid.excluded,
            "reference_quantiles": reference_quantiles(p_boost),
        },
    )
    return TrainingRun(model, valid, {"lightgbm": p_boost, "logistic": p_logit})


def true_risk_auc(
    run: TrainingRun, person_ids: NDArray[np.int64], true_risk: NDArray[np.float64]
) -> tuple[Auc, int]:
    """AUC of a known true risk on the validation people (synthetic region only).

    Returns the AUC and how many validation people had a true risk. The generator's
    own risk is the ceiling any model of these data can reach.
    """
    order = np.argsort(person_ids)
    ids, risk = person_ids[order], true_risk[order]
    pos = np.searchsorted(ids, run.validation.person_id)
    pos = np.clip(pos, 0, max(len(ids) - 1, 0))
    found = (len(ids) > 0) & (ids[pos] == run.validation.person_id)
    return auc_delong(run.validation.y[found], risk[pos][found]), int(found.sum())
