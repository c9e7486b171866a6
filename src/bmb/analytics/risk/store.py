"""A risk model as files: readable, auditable, and never executable.

A model directory holds:

* ``model.json``: what the model predicts, the features (and the registry rules they
  came from), the training and validation years, every validation measure, the
  logistic baseline's coefficients, and the provenance (lake snapshot, BMB version,
  engine, time) - invariant 7;
* ``lightgbm.txt``: the boosted trees in LightGBM's own text format;
* ``card.md`` / ``card.html``: the model card for people.

Nothing is pickled: loading a model reads numbers and trees, it cannot run code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bmb.analytics.risk.dataset import Outcome
from bmb.analytics.risk.features import FeatureSpec
from bmb.analytics.risk.models import BoostedModel, LogisticModel, dumps
from bmb.analytics.risk.train import Metrics, RiskModel
from bmb.analytics.stats.validation import Auc, AucDifference, Calibration
from bmb.domain.errors import DataError
from bmb.domain.provenance import Provenance

FORMAT = "bmb-risk-model/1"


def model_document(model: RiskModel) -> dict[str, Any]:
    """Everything about the model except the trees, as JSON-ready data."""
    return {
        "format": FORMAT,
        "outcome": model.outcome.value,
        "outcome_label": model.outcome.label,
        "horizon_days": model.horizon_days,
        "train_year": model.train_year,
        "validation_year": model.validation_year,
        "region": model.region,
        "training": {
            "n": model.train_n,
            "events": model.train_events,
            "excluded_incomplete_follow_up": model.train_excluded,
        },
        "features": model.features.as_dict(),
        "columns": list(model.features.columns),
        "validation": {k: v.as_dict() for k, v in model.validation.items()},
        "auc_difference_lightgbm_minus_logistic": {
            "difference": model.difference.difference,
            "lower": model.difference.lower,
            "upper": model.difference.upper,
            "p_value": model.difference.p_value,
        },
        "subgroups": list(model.subgroups),
        "lightgbm": {"trees": model.boosted.trees, "importance": model.boosted.importance()},
        "logistic": model.logistic.to_json(),
        "provenance": model.provenance.as_dict(),
        "seconds": model.seconds,
        "extra": model.extra,
    }


def save_model(model: RiskModel, directory: str | Path, *, card: bool = True) -> Path:
    """Write the model directory (created if needed); returns it."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    (d / "lightgbm.txt").write_text(model.boosted.to_text(), encoding="utf-8")
    (d / "model.json").write_text(dumps(model_document(model)), encoding="utf-8")
    if card:
        from bmb.analytics.risk.card import card_html, card_markdown

        (d / "card.md").write_text(card_markdown(model), encoding="utf-8")
        (d / "card.html").write_text(card_html(model), encoding="utf-8")
    return d


def _metrics(d: dict[str, Any]) -> Metrics:
    return Metrics(
        n=int(d["n"]),
        events=int(d["events"]),
        auc=Auc(float(d["auc"]), 0.0, float(d["auc_lower"]), float(d["auc_upper"])),
        brier=float(d["brier"]),
        scaled_brier=float(d["scaled_brier"]),
        calibration=Calibration(
            float(d["calibration_intercept"]),
            float(d["calibration_intercept_lower"]),
            float(d["calibration_intercept_upper"]),
            float(d["calibration_slope"]),
            float(d["calibration_slope_lower"]),
            float(d["calibration_slope_upper"]),
        ),
        mean_predicted=float(d["mean_predicted"]),
        calibration_table=tuple(d["calibration_table"]),
        roc=tuple((float(a), float(b)) for a, b in d["roc"]),
    )


def load_model(directory: str | Path) -> RiskModel:
    """Read a model directory written by :func:`save_model`."""
    d = Path(directory)
    path = d / "model.json"
    if not path.is_file():
        raise DataError(f"{d}: not a BMB risk model (no model.json)")
    doc = json.loads(path.read_text(encoding="utf-8"))
    if doc.get("format") != FORMAT:
        raise DataError(f"{path}: unknown model format {doc.get('format')!r} (want {FORMAT})")
    spec = FeatureSpec.from_dict(doc["features"])
    if list(spec.columns) != doc["columns"]:
        raise DataError(f"{path}: the feature list does not match the stored columns")
    diff = doc["auc_difference_lightgbm_minus_logistic"]
    return RiskModel(
        outcome=Outcome(doc["outcome"]),
        horizon_days=int(doc["horizon_days"]),
        train_year=int(doc["train_year"]),
        validation_year=int(doc["validation_year"]),
        features=spec,
        boosted=BoostedModel.from_text(
            (d / "lightgbm.txt").read_text(encoding="utf-8"), spec.columns
        ),
        logistic=LogisticModel.from_json(doc["logistic"]),
        train_n=int(doc["training"]["n"]),
        train_events=int(doc["training"]["events"]),
        train_excluded=int(doc["training"]["excluded_incomplete_follow_up"]),
        validation={k: _metrics(v) for k, v in doc["validation"].items()},
        difference=AucDifference(
            float(diff["difference"]),
            float(diff["lower"]),
            float(diff["upper"]),
            float(diff["p_value"]),
        ),
        subgroups=tuple(doc["subgroups"]),
        provenance=Provenance.from_dict(doc["provenance"]),
        seconds=float(doc["seconds"]),
        region=str(doc.get("region", "liguria")),
        extra=dict(doc.get("extra") or {}),
    )
