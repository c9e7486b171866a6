"""``bmb report``: documents for people, assembled from the analytics."""

from __future__ import annotations

from pathlib import Path

import typer

from bmb.cli.options import LakeOption
from bmb.cli.planning_io import RegionOption

report_app = typer.Typer(
    help=(
        "Reports: self-contained HTML documents (charts embedded, no network).\n\n"
        "Example: bmb report planning --year 2025 --model models/adm --out planning.html"
    ),
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(report_app, name="report")


@report_app.command("planning")
def planning(
    out: Path = typer.Option(..., "--out", help="The report: an .html file."),
    year: int = typer.Option(
        None,
        "--year",
        help="Reference year (31 December). Default: the last the lake covers.",
        show_default=False,
    ),
    model: list[Path] = typer.Option(
        None,
        "--model",
        help="A risk model directory (repeatable: admission, death).",
        show_default=False,
    ),
    indicator_years: str = typer.Option(
        None,
        "--indicator-years",
        help="Admission years pooled for the outcome indicators (default: the reference year).",
        show_default=False,
    ),
    policy: str = typer.Option(
        "default", "--policy", help="Output policy for counts by district: default or threshold10."
    ),
    region: str = RegionOption,
    lake: Path = LakeOption,
) -> None:
    """The planners' report: population pyramid, prevalence by district, the risk
    pyramid against Kaiser, risk distribution, the comorbidity network and the outcome
    indicators by hospital, in one HTML file that opens offline.

    Example: bmb report planning --year 2025 --model models/adm --model models/death \
--indicator-years 2024-2025 --out planning-2025.html
    """
    from bmb.analytics.planning.report import planning_report
    from bmb.analytics.population import parse_years
    from bmb.analytics.risk.dataset import last_data_date
    from bmb.analytics.risk.store import load_model
    from bmb.cli.console import console
    from bmb.cli.planning_io import open_planning_lake, years_of
    from bmb.domain.disclosure import preset
    from bmb.domain.errors import UsageError

    if out.suffix.lower() != ".html":
        raise UsageError(f"{out}: the planning report is an .html file")
    try:
        pol = preset(policy)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    models = [load_model(m) for m in model or []]
    from bmb.cli.console import progress_bar

    with open_planning_lake(lake, "bmb report planning") as engine, progress_bar() as bar:
        y = year if year is not None else years_of(engine, None)[-1]
        ind_years = parse_years(indicator_years) if indicator_years else [y]
        report = planning_report(
            engine,
            y,
            region=region,
            models=models,
            indicator_years=ind_years,
            last_data=last_data_date(engine),
            policy=pol,
            progress=bar,
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report.html, encoding="utf-8")
    console.print(
        f"Wrote {out} ({len(report.html) / 1e6:.1f} MB, {report.seconds:.0f} s; "
        f"{report.provenance.describe()})"
    )
