"""The two risk models: gradient-boosted trees (LightGBM) and a logistic baseline.

**LightGBM** learns non-linear effects and interactions (age with conditions, prior
use with frailty); the number of trees is chosen by early stopping on a random fifth of
the training year, so the validation year is never looked at while fitting.

**The logistic baseline** is the model a reviewer trusts first: L2-penalized logistic
regression on the same features, counts log-transformed, lab values imputed at the
median with a missing-value indicator, all standardized. A boosted model is only worth
its opacity if it beats this one on new data.

Both are stored as plain data (LightGBM's text format, the logistic coefficients in
JSON), never as pickles, so a model file can be read and audited and cannot run code.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

#: LightGBM settings: conservative leaves for a rare outcome, fixed seeds (reproducible).
LGBM_PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_data_in_leaf": 100,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "max_bin": 255,
    "seed": 7,
    "deterministic": True,
    "force_row_wise": True,
    "verbose": -1,
}
MAX_TREES = 2000
EARLY_STOPPING = 50


def _count_like(name: str) -> bool:
    return name.startswith(("ip_", "ed_", "op_", "rx_", "lab_tests", "cost_", "days_since"))


@dataclass(frozen=True, slots=True)
class LogisticModel:
    """Standardized-feature logistic regression, stored as numbers."""

    columns: tuple[str, ...]
    log_columns: tuple[bool, ...]
    medians: tuple[float, ...]
    means: tuple[float, ...]
    scales: tuple[float, ...]
    coef: tuple[float, ...]  # for the design: standardized columns, then missing flags
    missing_columns: tuple[int, ...]  # columns that get a missing indicator
    intercept: float

    def design(self, x: NDArray[np.float32]) -> NDArray[np.float32]:
        """The standardized design matrix of raw features ``x``.

        Built in one float32 buffer, column by column, so a region's matrix costs one
        copy, not one per step (standardized values need no more precision, and
        scikit-learn's lbfgs solver works in float32).
        """
        n, k = x.shape
        miss = list(self.missing_columns)
        out = np.empty((n, k + len(miss)), dtype=np.float32)
        for j in range(k):
            col = out[:, j]
            col[:] = x[:, j]
            nan = np.isnan(col)
            col[nan] = self.medians[j]
            if self.log_columns[j]:
                np.maximum(col, 0.0, out=col)
                np.log1p(col, out=col)
            col -= self.means[j]
            col /= self.scales[j]
        for i, j in enumerate(miss):
            out[:, k + i] = np.isnan(x[:, j])
        return out

    def logit(self, x: NDArray[np.float32]) -> NDArray[np.float64]:
        coef = np.asarray(self.coef, dtype=np.float32)
        return np.asarray(self.design(x) @ coef, dtype=np.float64) + self.intercept

    def predict(self, x: NDArray[np.float32]) -> NDArray[np.float64]:
        return np.asarray(1.0 / (1.0 + np.exp(-self.logit(x))))

    def contributions(self, x: NDArray[np.float32]) -> NDArray[np.float64]:
        """Each feature's term in the log-odds, relative to an average person (k+1 cols).

        With standardized features the average person's terms are 0, so a term is how
        far this feature moves this person's log-odds; the last column is the intercept.
        """
        d = self.design(x).astype(np.float64) * np.asarray(self.coef)[None, :]
        k = len(self.columns)
        terms = d[:, :k].copy()
        for j, col in enumerate(self.missing_columns):
            terms[:, col] += d[:, k + j]
        return np.hstack((terms, np.full((len(x), 1), self.intercept)))

    def to_json(self) -> dict[str, Any]:
        return {
            "columns": list(self.columns),
            "log_columns": list(self.log_columns),
            "medians": list(self.medians),
            "means": list(self.means),
            "scales": list(self.scales),
            "coef": list(self.coef),
            "missing_columns": list(self.missing_columns),
            "intercept": self.intercept,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> LogisticModel:
        return cls(
            columns=tuple(d["columns"]),
            log_columns=tuple(bool(v) for v in d["log_columns"]),
            medians=tuple(float(v) for v in d["medians"]),
            means=tuple(float(v) for v in d["means"]),
            scales=tuple(float(v) for v in d["scales"]),
            coef=tuple(float(v) for v in d["coef"]),
            missing_columns=tuple(int(v) for v in d["missing_columns"]),
            intercept=float(d["intercept"]),
        )


def fit_logistic(
    x: NDArray[np.float32], y: NDArray[np.int8], columns: tuple[str, ...], c: float = 1.0
) -> LogisticModel:
    """Fit the baseline (scikit-learn, lbfgs, L2 with inverse strength ``c``)."""
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

    k = x.shape[1]
    logs = np.array([_count_like(col) for col in columns])
    medians = np.zeros(k)
    means = np.zeros(k)
    scales = np.ones(k)
    any_missing = np.zeros(k, dtype=bool)
    all_missing = np.zeros(k, dtype=bool)
    for j in range(k):  # one column at a time: no full float64 copy of the matrix
        col = np.asarray(x[:, j], dtype=np.float64)
        nan = np.isnan(col)
        any_missing[j], all_missing[j] = bool(nan.any()), bool(nan.all())
        medians[j] = 0.0 if all_missing[j] else float(np.median(col[~nan]))
        col[nan] = medians[j]
        if logs[j]:
            col = np.log1p(np.maximum(col, 0.0))
        means[j] = float(col.mean())
        sd = float(col.std())
        scales[j] = sd if sd > 0 else 1.0
    miss_cols = tuple(int(j) for j in np.flatnonzero(any_missing & ~all_missing))
    model = LogisticModel(
        columns=columns,
        log_columns=tuple(bool(v) for v in logs),
        medians=tuple(float(v) for v in medians),
        means=tuple(float(v) for v in means),
        scales=tuple(float(v) for v in scales),
        coef=(),
        missing_columns=miss_cols,
        intercept=0.0,
    )
    design = model.design(x)
    fit = LogisticRegression(C=c, max_iter=2000, solver="lbfgs")
    fit.fit(design, y)
    return LogisticModel(
        columns=columns,
        log_columns=model.log_columns,
        medians=model.medians,
        means=model.means,
        scales=model.scales,
        coef=tuple(float(v) for v in fit.coef_[0]),
        missing_columns=miss_cols,
        intercept=float(fit.intercept_[0]),
    )


@dataclass(frozen=True, slots=True)
class BoostedModel:
    """A LightGBM booster and the columns it expects."""

    booster: Any  # lightgbm.Booster
    columns: tuple[str, ...]

    def predict(self, x: NDArray[np.float32]) -> NDArray[np.float64]:
        return np.asarray(self.booster.predict(x, num_threads=_threads()), dtype=np.float64)

    def contributions(self, x: NDArray[np.float32]) -> NDArray[np.float64]:
        """Tree SHAP values in log-odds (k+1 columns, the last is the expected value)."""
        return np.asarray(
            self.booster.predict(x, pred_contrib=True, num_threads=_threads()), dtype=np.float64
        )

    def to_text(self) -> str:
        return str(self.booster.model_to_string())

    @classmethod
    def from_text(cls, text: str, columns: tuple[str, ...]) -> BoostedModel:
        import lightgbm as lgb

        return cls(lgb.Booster(model_str=text), columns)

    @property
    def trees(self) -> int:
        return int(self.booster.current_iteration())

    def importance(self) -> list[tuple[str, float]]:
        """Total gain per feature, largest first."""
        gain = self.booster.feature_importance(importance_type="gain")
        pairs = sorted(
            zip(self.columns, (float(g) for g in gain), strict=True), key=lambda kv: -kv[1]
        )
        return [(c, g) for c, g in pairs if g > 0]


def _threads() -> int:
    import os

    return max(1, min(os.cpu_count() or 1, 8))


def fit_boosted(
    x: NDArray[np.float32],
    y: NDArray[np.int8],
    columns: tuple[str, ...],
    seed: int = 7,
    trees: int | None = None,
) -> BoostedModel:
    """Fit LightGBM with early stopping on a stratified fifth of the training rows.

    ``trees`` fixes the number of trees instead (no early stopping): for benchmarks
    that must grow as many trees as a known run did.
    """
    import lightgbm as lgb

    rng = np.random.default_rng(seed)
    hold = np.zeros(len(y), dtype=bool)
    for cls in (0, 1):
        idx = np.flatnonzero(y == cls)
        hold[rng.choice(idx, size=max(1, len(idx) // 5), replace=False)] = True
    params = {**LGBM_PARAMS, "seed": seed, "num_threads": _threads()}
    rate = float(y.mean())
    if rate > 0:
        params["min_data_in_leaf"] = int(
            min(LGBM_PARAMS["min_data_in_leaf"], max(20, len(y) // 200))
        )
    train = lgb.Dataset(x[~hold], label=y[~hold], feature_name=list(columns))
    valid = lgb.Dataset(x[hold], label=y[hold], reference=train)
    booster = lgb.train(
        params,
        train,
        num_boost_round=trees or MAX_TREES,
        valid_sets=[valid],
        callbacks=[] if trees else [lgb.early_stopping(EARLY_STOPPING, verbose=False)],
    )
    booster.free_dataset()
    best = booster.best_iteration or booster.current_iteration()
    text = booster.model_to_string(num_iteration=best)
    return BoostedModel.from_text(text, columns)


def finite(value: float) -> float | None:
    """JSON cannot hold NaN: None instead."""
    return None if math.isnan(value) or math.isinf(value) else value


def dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, sort_keys=False, default=str) + "\n"
