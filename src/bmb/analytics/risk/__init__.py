"""12-month risk of unplanned admission and of death: features, models, validation."""

from __future__ import annotations

from bmb.analytics.risk.dataset import Outcome
from bmb.analytics.risk.train import RiskModel, TrainingRun, train_risk_model

__all__ = ["Outcome", "RiskModel", "TrainingRun", "train_risk_model"]
