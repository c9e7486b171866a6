"""Charts of a risk model: calibration, ROC, and the distribution of predicted risk."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from bmb.analytics.plots import PALETTE, new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from bmb.analytics.risk.train import Metrics


def calibration_plot(metrics: Mapping[str, Metrics], title: str) -> Figure:
    """Observed against predicted risk by tenth of predicted risk, with 95% intervals."""
    fig = new_figure(5.2, 4.6)
    ax = fig.add_subplot()
    top = 0.0
    for i, (name, m) in enumerate(metrics.items()):
        rows = m.calibration_table
        pred = np.array([r["predicted"] for r in rows])
        obs = np.array([r["observed"] for r in rows])
        err = np.array(
            [[r["observed"] - r["lower"] for r in rows], [r["upper"] - r["observed"] for r in rows]]
        )
        c = m.calibration
        ax.errorbar(
            pred,
            obs,
            yerr=err,
            fmt="o-",
            color=PALETTE[i],
            capsize=2,
            markersize=4,
            label=f"{name}: intercept {c.intercept:+.2f}, slope {c.slope:.2f}",
        )
        top = max(top, float(pred.max()), float(obs.max()))
    top *= 1.08
    ax.plot([0, top], [0, top], color="#888", linestyle="--", linewidth=0.8, label="perfect")
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_xlabel("predicted risk (mean of each tenth)")
    ax.set_ylabel("observed risk")
    ax.legend(frameon=False, fontsize=8, loc="upper left")
    ax.set_title(title, loc="left", fontsize=10)
    return fig


def roc_plot(
    metrics: Mapping[str, Metrics], title: str, extra: Mapping[str, float] | None = None
) -> Figure:
    """ROC curves with each model's AUC (and, for synthetic data, the true risk's)."""
    fig = new_figure(4.8, 4.6)
    ax = fig.add_subplot()
    for i, (name, m) in enumerate(metrics.items()):
        fpr, tpr = zip(*m.roc, strict=True)
        a = m.auc
        ax.plot(
            fpr,
            tpr,
            color=PALETTE[i],
            label=f"{name}: AUC {a.value:.3f} ({a.lower:.3f}-{a.upper:.3f})",
        )
    ax.plot([0, 1], [0, 1], color="#888", linestyle="--", linewidth=0.8)
    for label, value in (extra or {}).items():
        ax.plot([], [], " ", label=f"{label}: AUC {value:.3f}")
    ax.set_xlabel("1 - specificity")
    ax.set_ylabel("sensitivity")
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    ax.set_title(title, loc="left", fontsize=10)
    return fig


def risk_distribution(risks: NDArray[np.float64], title: str, cuts: Sequence[float] = ()) -> Figure:
    """Histogram of predicted risk (log scale), with risk-class cut points."""
    fig = new_figure(7, 3.4)
    ax = fig.add_subplot()
    r = np.clip(np.asarray(risks, dtype=np.float64), 1e-5, 1.0)
    bins = [float(b) for b in np.logspace(np.log10(r.min()), 0, 60)]
    ax.hist(r, bins=bins, color=PALETTE[0])
    ax.set_xscale("log")
    for cut in cuts:
        ax.axvline(cut, color=PALETTE[3], linestyle="--", linewidth=0.8)
    ax.set_xlabel("predicted 12-month risk (log scale)")
    ax.set_ylabel("residents")
    ax.set_title(title, loc="left", fontsize=10)
    return fig
