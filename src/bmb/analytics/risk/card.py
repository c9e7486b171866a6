"""The model card (Mitchell et al., *Model Cards for Model Reporting*, FAT* 2019).

What the model is for and not for, what it was trained and judged on, how well it
discriminates and how well it is calibrated, overall and by sex and age, and what to
watch for. Written for the agency's planners and the privacy officer as much as for
the epidemiologists: every number here is also in ``model.json``.
"""

from __future__ import annotations

from html import escape
from typing import Any

from bmb.analytics.report.html import facts, page, table
from bmb.analytics.risk.train import RiskModel

INTENDED = (
    "Population health planning in the region: finding residents likely to need "
    "proactive care (case management, disease management programmes, home care) and "
    "sizing those programmes by district. Scores rank residents; they are a starting "
    "list for a clinical review by the GP and the district team."
)
NOT_INTENDED = (
    "Individual clinical decisions without a clinician's review; denying or rationing "
    "care; insurance, employment or any decision about a person outside their care; use "
    "in another region or after a coding change (ICD-10-IM) without re-validation."
)
CAVEATS = (
    "Prior use of care is among the strongest predictors, so residents who use little "
    "care because they reach it poorly look at low risk: check reach by district before "
    "acting on low scores.",
    "The outcome window is the 12 months after 31 December; residents who left the "
    "region during it were left out of training and validation (their outcome is unknown).",
    "Calibration drifts as care changes: re-train or at least re-calibrate every year, and "
    "compare the validation measures with this card's before using a new model.",
    "Age and sex are features; performance by group is reported below and must be "
    "checked on each new model.",
)


def _rows(model: RiskModel) -> list[list[Any]]:
    rows = []
    for name, m in model.validation.items():
        c = m.calibration
        rows.append(
            [
                name,
                m.n,
                m.events,
                f"{m.auc.value:.3f} ({m.auc.lower:.3f}-{m.auc.upper:.3f})",
                f"{c.intercept:+.3f} ({c.intercept_lower:+.3f} to {c.intercept_upper:+.3f})",
                f"{c.slope:.3f} ({c.slope_lower:.3f}-{c.slope_upper:.3f})",
                f"{m.brier:.4f}",
                f"{m.scaled_brier:.3f}",
            ]
        )
    return rows


_HEAD = [
    "model",
    "n",
    "events",
    "AUC (95% CI)",
    "calibration intercept",
    "calibration slope",
    "Brier",
    "scaled Brier",
]


def card_markdown(model: RiskModel) -> str:
    """The card as Markdown (for repositories and review tickets)."""
    d = model.difference
    lines = [
        f"# Model card: {model.outcome.label}",
        "",
        "## Model details",
        f"- Outcome: {model.outcome.label} (horizon {model.horizon_days} days from 31 December)",
        f"- Models: LightGBM gradient-boosted trees ({model.boosted.trees} trees) and an "
        "L2-penalized logistic regression baseline on the same features",
        f"- Trained on residents on 31 December {model.train_year}; validated on 31 December "
        f"{model.validation_year} (temporal validation)",
        f"- Provenance: {model.provenance.describe()}",
        f"- Features: {len(model.features.columns)} (registry rules "
        f"'{model.features.rules_name}' {model.features.rules_version})",
        "",
        "## Intended use",
        INTENDED,
        "",
        "## Not intended for",
        NOT_INTENDED,
        "",
        "## Training data",
        f"- {model.train_n:,} residents, {model.train_events:,} events; "
        f"{model.train_excluded:,} left out for incomplete follow-up",
        "",
        "## Validation",
        "| " + " | ".join(_HEAD) + " |",
        "|" + "---|" * len(_HEAD),
        *("| " + " | ".join(str(v) for v in r) + " |" for r in _rows(model)),
        "",
        f"AUC difference LightGBM - logistic: {d.difference:+.4f} "
        f"({d.lower:+.4f} to {d.upper:+.4f}), DeLong p = {d.p_value:.3g}.",
        "",
        "### By group (LightGBM)",
        "| group | n | events | AUC (95% CI) |",
        "|---|---|---|---|",
        *(
            f"| {g['group']} | {g['n']:,} | {g['events']:,} | "
            + (
                f"{g['auc']:.3f} ({g['auc_lower']:.3f}-{g['auc_upper']:.3f})"
                if g.get("auc") is not None
                else "too few events"
            )
            + " |"
            for g in model.subgroups
        ),
        "",
        "## Most important features (LightGBM gain)",
        *(f"- {name}" for name, _ in model.boosted.importance()[:15]),
        "",
        "## Ethical considerations and caveats",
        *(f"- {c}" for c in CAVEATS),
        "",
    ]
    extra = model.extra.get("truth")
    if extra:
        lines[-1:-1] = [
            "## Synthetic region check",
            f"- The generator's true risk on the validation residents: AUC "
            f"{extra['auc']:.3f} ({extra['lower']:.3f}-{extra['upper']:.3f})",
            "",
        ]
    return "\n".join(lines)


def card_html(model: RiskModel) -> str:
    """The card as a self-contained HTML page with the calibration and ROC charts."""
    from bmb.analytics.planning.pages import figure
    from bmb.analytics.plots import to_svg
    from bmb.analytics.plots.risk import calibration_plot, roc_plot

    d = model.difference
    truth = model.extra.get("truth")
    extra = {"true risk (generator)": float(truth["auc"])} if truth else None
    title = model.outcome.label
    subgroup_rows = [
        [
            g["group"],
            g["n"],
            g["events"],
            f"{g['auc']:.3f} ({g['auc_lower']:.3f}-{g['auc_upper']:.3f})"
            if g.get("auc") is not None
            else "too few events",
        ]
        for g in model.subgroups
    ]
    sections = [
        (
            "Model details",
            facts(
                [
                    ("outcome", f"{model.outcome.label} ({model.horizon_days} days)"),
                    ("models", f"LightGBM ({model.boosted.trees} trees); logistic baseline"),
                    (
                        "training",
                        f"31 December {model.train_year}: {model.train_n:,} residents, "
                        f"{model.train_events:,} events",
                    ),
                    ("validation", f"31 December {model.validation_year} (temporal)"),
                    ("features", f"{len(model.features.columns)}"),
                    (
                        "registry rules",
                        f"{model.features.rules_name} {model.features.rules_version}",
                    ),
                ]
            ),
        ),
        ("Intended use", f"<p>{escape(INTENDED)}</p>"),
        ("Not intended for", f"<p>{escape(NOT_INTENDED)}</p>"),
        (
            "Validation",
            table(_HEAD, _rows(model))
            + f"<p>AUC difference LightGBM - logistic: {d.difference:+.4f} "
            f"({d.lower:+.4f} to {d.upper:+.4f}), DeLong p = {d.p_value:.3g}</p>",
        ),
        (
            "",
            figure(to_svg(calibration_plot(model.validation, f"Calibration, {title}")))
            + figure(to_svg(roc_plot(model.validation, f"ROC, {title}", extra))),
        ),
        ("By group (LightGBM)", table(["group", "n", "events", "AUC (95% CI)"], subgroup_rows)),
        (
            "Most important features (LightGBM gain)",
            table(["feature", "gain"], [[n, g] for n, g in model.boosted.importance()[:15]]),
        ),
        (
            "Ethical considerations and caveats",
            "<ul>" + "".join(f"<li>{escape(c)}</li>" for c in CAVEATS) + "</ul>",
        ),
    ]
    if truth:
        sections.insert(
            4,
            (
                "Synthetic region check",
                facts(
                    [
                        (
                            "true-risk AUC",
                            f"{truth['auc']:.3f} ({truth['lower']:.3f}-{truth['upper']:.3f})",
                        ),
                        ("LightGBM AUC", f"{model.validation['lightgbm'].auc.value:.3f}"),
                    ]
                ),
            ),
        )
    return page(f"Model card: {title}", model.provenance, sections)
