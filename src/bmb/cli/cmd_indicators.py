"""``bmb indicators``: PNE-style outcome indicators by hospital, risk-adjusted, funnels."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer

from bmb.cli.options import LakeOption
from bmb.cli.planning_io import RegionOption, SaveOption, YearsOption


def register(app: typer.Typer) -> None:
    app.command("indicators")(indicators)


def indicators(
    years: str = YearsOption,
    which: list[str] = typer.Option(
        None,
        "--indicator",
        help="Indicator name (repeatable; default: all). "
        "hip_fracture_surgery_48h, ami_30d_mortality, stroke_30d_mortality.",
        show_default=False,
    ),
    region: str = RegionOption,
    lake: Path = LakeOption,
    out: Path = typer.Option(
        None, "--out", help="Hospital table: .csv, .parquet, .json or .html.", show_default=False
    ),
    plot: Path = typer.Option(
        None,
        "--plot",
        help="Funnel plot(s): .svg, .png or .pdf; with several indicators "
        "one file each, named <stem>-<indicator><ext>.",
        show_default=False,
    ),
    save: bool = SaveOption,
) -> None:
    """Hip fracture surgery within 48 hours (65+), AMI and ischaemic stroke 30-day
    mortality, by hospital, risk-adjusted with a logistic model (indirect
    standardization), with funnel plots. Admissions of the given years are pooled; the
    30-day outcome needs 30 days of data after the last admission, so admissions in
    the last 30 days of the lake are left out.

    Writes derived.indicators_hospital and derived.indicators_episodes.

    Example: bmb indicators --years 2023-2025 --out pne.html --plot funnel.svg
    """
    import pyarrow as pa

    from bmb.analytics.indicators import compute_indicator
    from bmb.analytics.report import write_result
    from bmb.analytics.risk.dataset import last_data_date
    from bmb.cli.console import console, print_table
    from bmb.cli.planning_io import open_planning_lake, save_derived, write_plot, years_of
    from bmb.domain.indicators import default_indicators

    catalogue = default_indicators()
    chosen = [catalogue.get(n) for n in which] if which else list(catalogue.indicators)
    results = []
    with open_planning_lake(lake, "bmb indicators") as engine:
        ys = years_of(engine, years)
        last = last_data_date(engine)
        start = date(min(ys), 1, 1)
        end = min(date(max(ys), 12, 31), date.fromordinal(last.toordinal() - 30))
        for ind in chosen:
            results.append(compute_indicator(engine, ind, start, end, region=region))
        print_table(
            f"Outcome indicators, admissions {start} to {end}",
            [
                "indicator",
                "n episodes",
                "n events",
                "rate %",
                "95% CI",
                "threshold %",
                "hospitals outside 95%",
                "adjustment",
            ],
            [
                [
                    r.indicator.name,
                    r.region["episodes"],
                    r.region["events"],
                    round(r.region["rate"], 1),
                    f"{r.region['lower']:.1f}-{r.region['upper']:.1f}",
                    "" if r.indicator.threshold is None else r.indicator.threshold,
                    sum(1 for f in r.hospitals.column("funnel").to_pylist() if f != "within")
                    if r.hospitals.num_rows
                    else 0,
                    r.region["adjusted_for"],
                ]
                for r in results
            ],
        )
        hospitals = (
            pa.concat_tables(
                [
                    r.hospitals.append_column(
                        "indicator", pa.array([r.indicator.name] * r.hospitals.num_rows)
                    )
                    for r in results
                    if r.hospitals.num_rows
                ]
            )
            if any(r.hospitals.num_rows for r in results)
            else pa.table({"indicator": []})
        )
        prov = results[0].provenance if results else None
        if save and prov is not None:
            episodes = pa.concat_tables([r.episodes for r in results])
            save_derived(
                engine, "indicators_hospital", hospitals, prov, f"indicators {start}..{end}"
            )
            snap = save_derived(
                engine, "indicators_episodes", episodes, prov, f"indicators {start}..{end}"
            )
            console.print(f"Saved derived.indicators_hospital, _episodes (snapshot {snap})")
    if out is not None and prov is not None:
        from bmb.analytics.planning.pages import indicators_page

        path = write_result(hospitals, out, prov, html=lambda: indicators_page(results))
        console.print(f"Wrote {path}")
    if plot is not None:
        from bmb.analytics.plots.charts import funnel_plot

        for r in results:
            target = (
                plot
                if len(results) == 1
                else plot.with_name(f"{plot.stem}-{r.indicator.name}{plot.suffix}")
            )
            fig = funnel_plot(
                r.hospitals, r.region["rate"], r.indicator.title, r.indicator.threshold
            )
            console.print(f"Wrote {write_plot(fig, target)}")
