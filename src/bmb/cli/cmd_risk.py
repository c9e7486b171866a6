"""``bmb risk``: train, card and score 12-month risk models (admission, death)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from bmb.cli.options import KeyFileOption, LakeOption
from bmb.cli.planning_io import PlotOption, RegionOption, SaveOption

if TYPE_CHECKING:
    from bmb.analytics.risk import RiskModel, TrainingRun

risk_app = typer.Typer(
    help=(
        "12-month risk of unplanned admission or death: LightGBM against a logistic "
        "baseline, temporal validation, model cards, scores with reasons.\n\n"
        "Example: bmb risk train --outcome admission --train-year 2023 --model models/adm"
    ),
    no_args_is_help=True,
)

ModelOption = typer.Option(..., "--model", help="The model directory.")


def register(app: typer.Typer) -> None:
    app.add_typer(risk_app, name="risk")


def _outcome(value: str) -> object:
    from bmb.analytics.risk import Outcome
    from bmb.domain.errors import UsageError

    try:
        return Outcome(value)
    except ValueError:
        raise UsageError(f"--outcome {value!r}", hint="use admission or death") from None


@risk_app.command("train")
def train(
    outcome: str = typer.Option(..., "--outcome", help="admission or death."),
    train_year: int = typer.Option(..., "--train-year", help="Features on 31 December of it."),
    validation_year: int = typer.Option(
        None,
        "--validation-year",
        help="Later year to validate on (default: the next).",
        show_default=False,
    ),
    model: Path = ModelOption,
    region: str = RegionOption,
    lake: Path = LakeOption,
    truth: Path = typer.Option(
        None,
        "--truth",
        help="A synthetic region's truth/ folder: print the true risk's AUC.",
        show_default=False,
    ),
    key_file: Path = KeyFileOption,
    out: Path = typer.Option(
        None,
        "--out",
        help="Validation measures: .json, .csv, .parquet or .html (the card).",
        show_default=False,
    ),
    plot: Path = PlotOption,
) -> None:
    """Train LightGBM and the logistic baseline; validate on a later year; save both.

    The model directory gets model.json (features, measures, coefficients, provenance),
    lightgbm.txt (the trees) and the model card (card.md, card.html).

    Example: bmb risk train --outcome death --train-year 2023 --model models/death
    """
    from bmb.analytics.risk import Outcome, train_risk_model
    from bmb.analytics.risk.store import save_model
    from bmb.cli.console import console
    from bmb.cli.planning_io import open_planning_lake, write_plot

    which = _outcome(outcome)
    assert isinstance(which, Outcome)
    with open_planning_lake(lake, "bmb risk train") as engine:
        run = train_risk_model(
            engine, which, train_year, validation_year=validation_year, region=region
        )
        if truth is not None:
            run = _with_truth(run, truth, lake, key_file)
    m = run.model
    save_model(m, model)
    _print_validation(m)
    console.print(f"Saved {model} ({m.seconds:.1f} s; {m.provenance.describe()})")
    if out is not None:
        _write_measures(m, out)
    if plot is not None:
        from bmb.analytics.plots.risk import calibration_plot

        console.print(f"Wrote {write_plot(calibration_plot(m.validation, m.outcome.label), plot)}")


def _with_truth(
    run: TrainingRun, truth: Path, lake: Path | None, key_file: Path | None
) -> TrainingRun:
    import dataclasses

    import numpy as np
    import pyarrow.compute as pc

    from bmb.analytics.risk import Outcome
    from bmb.analytics.risk.train import true_risk_auc
    from bmb.cli.options import lake_dir
    from bmb.cli.truth import load_truth

    t = load_truth(truth, lake_dir(lake), key_file)
    year = run.model.validation_year + 1
    years = t.person_years.filter(pc.equal(t.person_years["year"], year))
    ids = np.asarray(years["person_id"].to_numpy(), dtype=np.int64)
    if run.model.outcome is Outcome.DEATH:
        risk = np.asarray(years["p_death"].to_numpy(), dtype=np.float64)
    else:  # at least one admission, expected admissions being a Poisson mean
        risk = 1 - np.exp(-np.asarray(years["expected_admissions"].to_numpy(), dtype=np.float64))
    auc, n = true_risk_auc(run, ids, risk)
    extra = {
        **run.model.extra,
        "truth": {"auc": auc.value, "lower": auc.lower, "upper": auc.upper, "n": n},
    }
    return dataclasses.replace(run, model=dataclasses.replace(run.model, extra=extra))


def _print_validation(m: RiskModel) -> None:
    from bmb.cli.console import console, print_table

    rows = []
    for name, v in m.validation.items():
        c = v.calibration
        rows.append(
            [
                name,
                f"{v.events:,}/{v.n:,}",
                f"{v.auc.value:.3f} ({v.auc.lower:.3f}-{v.auc.upper:.3f})",
                f"{c.intercept:+.2f} / {c.slope:.2f}",
                f"{v.brier:.4f}",
            ]
        )
    truth = m.extra.get("truth")
    if truth:
        rows.append(
            [
                "true risk",
                f"n={truth['n']:,}",
                f"{truth['auc']:.3f} ({truth['lower']:.3f}-{truth['upper']:.3f})",
                "",
                "",
            ]
        )
    print_table(
        f"{m.outcome.label}: trained on {m.train_year}, validated on {m.validation_year}",
        ["model", "events/n", "AUC (95% CI)", "cal. int./slope", "Brier"],
        rows,
    )
    if truth:
        console.print("true risk: the synthetic generator's own risk of the validation residents")
    d = m.difference
    console.print(
        f"AUC LightGBM - logistic: {d.difference:+.4f} ({d.lower:+.4f} to {d.upper:+.4f}), "
        f"p = {d.p_value:.3g}"
    )


def _write_measures(m: RiskModel, out: Path) -> None:
    import pyarrow as pa

    from bmb.analytics.report import write_result
    from bmb.analytics.risk.card import card_html
    from bmb.cli.console import console

    rows = []
    for name, v in m.validation.items():
        d = v.as_dict()
        rows.append(
            {"model": name, **{k: x for k, x in d.items() if k not in ("calibration_table", "roc")}}
        )
    path = write_result(pa.Table.from_pylist(rows), out, m.provenance, html=lambda: card_html(m))
    console.print(f"Wrote {path}")


@risk_app.command("card")
def card(
    model: Path = ModelOption,
    out: Path = typer.Option(..., "--out", help="The card: .html or .md."),
) -> None:
    """Write a trained model's card (intended use, data, validation, caveats).

    Example: bmb risk card --model models/death --out death-card.html
    """
    from bmb.analytics.risk.card import card_html, card_markdown
    from bmb.analytics.risk.store import load_model
    from bmb.cli.console import console
    from bmb.domain.errors import UsageError

    m = load_model(model)
    suffix = out.suffix.lower()
    if suffix == ".html":
        out.write_text(card_html(m), encoding="utf-8")
    elif suffix == ".md":
        out.write_text(card_markdown(m), encoding="utf-8")
    else:
        raise UsageError(f"{out}: write the card as .html or .md")
    console.print(f"Wrote {out}")


@risk_app.command("score")
def score(
    model: Path = ModelOption,
    on: str = typer.Option(
        None,
        "--date",
        help="Score on this date (YYYY-MM-DD). Default: 31 December of the "
        "last year the lake covers.",
        show_default=False,
    ),
    person_id: int = typer.Option(
        None, "--person-id", help="Score one person and show the reasons.", show_default=False
    ),
    lake: Path = LakeOption,
    out: Path = typer.Option(
        None, "--out", help="Scores: .csv, .parquet or .json.", show_default=False
    ),
    plot: Path = PlotOption,
    save: bool = SaveOption,
) -> None:
    """Score every resident (derived.risk_<outcome>) or one person, with reasons.

    Example: bmb risk score --model models/adm --person-id 1234567 --date 2025-06-30
    """
    from bmb.analytics.population import provenance
    from bmb.analytics.report import write_result
    from bmb.analytics.risk.score import CLASSES, score_person, score_population
    from bmb.analytics.risk.store import load_model
    from bmb.cli.console import console, print_table
    from bmb.cli.planning_io import open_planning_lake, save_derived, write_plot, years_of
    from bmb.domain.errors import UsageError

    m = load_model(model)
    with open_planning_lake(lake, "bmb risk score") as engine:
        if on:
            try:
                day = date.fromisoformat(on)
            except ValueError:
                raise UsageError(f"--date {on!r}: write YYYY-MM-DD") from None
        else:
            day = date(years_of(engine, None)[-1], 12, 31)
        if person_id is not None:
            s = score_person(engine, m, person_id, day)
            console.print(
                f"Person {s.person_id} on {s.on}: {s.outcome} risk {100 * s.risk:.1f}% "
                f"(logistic {100 * s.risk_logistic:.1f}%), percentile {s.percentile:.0f}, "
                f"class {s.risk_class}"
            )
            print_table(
                f"Reasons (LightGBM Tree SHAP, log-odds; base {s.base_log_odds:+.2f})",
                ["feature", "value", "contribution"],
                [
                    [
                        r.feature,
                        "missing" if r.value is None else round(r.value, 2),
                        f"{r.contribution:+.3f}",
                    ]
                    for r in s.reasons
                ],
            )
            if out is not None:
                console.print(f"Wrote {write_result(s.as_rows(), out, m.provenance)}")
            return
        scores = score_population(engine, m, day)
        prov = provenance(engine)
        counts: dict[str, int] = {}
        for c in scores.column("risk_class").to_pylist():
            counts[c] = counts.get(c, 0) + 1
        print_table(
            f"{m.outcome.label}: {scores.num_rows:,} residents scored on {day}",
            ["risk class", "n residents"],
            [[name, counts.get(name, 0)] for _, name in CLASSES],
        )
        if save:
            name = f"risk_{m.outcome.value}"
            snap = save_derived(engine, name, scores, prov, f"risk scores {model}")
            console.print(f"Saved derived.{name} (snapshot {snap})")
        if out is not None:
            console.print(f"Wrote {write_result(scores, out, prov)}")
        if plot is not None:
            import numpy as np

            from bmb.analytics.plots.risk import risk_distribution

            q = np.asarray(m.extra["reference_quantiles"])
            cuts = [float(q[int(b)]) for b, _ in CLASSES[:-1]]
            fig = risk_distribution(
                np.asarray(scores.column("risk").to_numpy()), f"{m.outcome.label}, {day}", cuts
            )
            console.print(f"Wrote {write_plot(fig, plot)}")
