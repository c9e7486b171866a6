"""``bmb comorbidity``, ``bmb stratify`` and ``bmb network``: per-resident planning tables.

Each command builds the chronic-condition registry it needs on the lake's current
snapshot (with BMB's rules, or ``--rules``), writes its tables to the derived zone and,
on request, a file (``--out``) and a chart (``--plot``).
"""

from __future__ import annotations

from pathlib import Path

import typer

from bmb.cli.options import LakeOption
from bmb.cli.planning_io import (
    PlotOption,
    RegionOption,
    RulesOption,
    SaveOption,
    YearsOption,
    read_rules,
)


def register(app: typer.Typer) -> None:
    app.command("comorbidity")(comorbidity)
    app.command("stratify")(stratify)
    app.command("network")(network)


def comorbidity(
    years: str = YearsOption,
    lookback_days: int = typer.Option(365, "--lookback-days", help="Window before 31 December."),
    settings: str = typer.Option(
        "inpatient",
        "--settings",
        help="Where diagnoses count: inpatient, emergency, outpatient (comma-separated).",
    ),
    region: str = RegionOption,
    lake: Path = LakeOption,
    out: Path = typer.Option(
        None, "--out", help="Per-resident scores: .csv, .parquet or .json.", show_default=False
    ),
    save: bool = SaveOption,
) -> None:
    """Charlson (Quan codings; 1987 and Quan 2011 weights; age points) and Elixhauser
    (Quan codings; van Walraven weights) for every resident on 31 December.

    Writes derived.comorbidity: one row per resident and year, a flag per category.

    Example: bmb comorbidity --years 2024 --lookback-days 730 --out cci.parquet
    """
    from bmb.analytics.comorbidity import ComorbiditySpec, build_comorbidity
    from bmb.analytics.population import PopulationSpec
    from bmb.analytics.report import write_result
    from bmb.cli.console import console, print_table
    from bmb.cli.planning_io import open_planning_lake, save_derived, years_of

    spec_c = ComorbiditySpec(
        lookback_days=lookback_days, settings=tuple(s.strip() for s in settings.split(","))
    )
    with open_planning_lake(lake, "bmb comorbidity") as engine:
        spec = PopulationSpec.years(years_of(engine, years), region=region)
        result = build_comorbidity(engine, spec, spec_c)
        summary = engine.query(
            f"SELECT year, count(*) AS n, avg(cci) AS cci, avg(cci_quan2011) AS quan, "
            f"count(*) FILTER (WHERE cci >= 3) AS cci3, avg(elix_vw) AS vw "
            f"FROM {result.table} GROUP BY 1 ORDER BY 1"
        ).to_pylist()
        print_table(
            f"Comorbidity (look-back {lookback_days} days, {settings})",
            [
                "year",
                "n residents",
                "mean Charlson",
                "mean Quan 2011",
                "n Charlson >= 3",
                "mean van Walraven",
            ],
            [[str(r["year"]), r["n"], r["cci"], r["quan"], r["cci3"], r["vw"]] for r in summary],
        )
        rows = result.rows(engine)
        if save:
            snap = save_derived(
                engine,
                "comorbidity",
                rows,
                result.provenance,
                f"comorbidity {lookback_days}d {settings}",
            )
            console.print(f"Saved derived.comorbidity (snapshot {snap})")
        if out is not None:
            console.print(f"Wrote {write_result(rows, out, result.provenance)}")


def stratify(
    years: str = YearsOption,
    rules: Path = RulesOption,
    config: Path = typer.Option(
        None,
        "--config",
        help="Pyramid configuration YAML (default: BMB's).",
        show_default=False,
    ),
    region: str = RegionOption,
    lake: Path = LakeOption,
    out: Path = typer.Option(
        None,
        "--out",
        help="Counts by level, district and age band: .csv, .parquet, .json or .html.",
        show_default=False,
    ),
    plot: Path = PlotOption,
    save: bool = SaveOption,
) -> None:
    """The risk pyramid (levels 1-4) and resource-use bands (0-5) for every resident.

    Writes derived.stratification (per resident and year), derived.stratification_counts
    (by district and age band), derived.stratification_kaiser and
    derived.stratification_bands.

    Example: bmb stratify --years 2024-2025 --out pyramid.html --plot pyramid.svg
    """
    from bmb.analytics.population import PopulationSpec
    from bmb.analytics.registry import build_registry
    from bmb.analytics.report import write_result
    from bmb.analytics.stratification import build_stratification
    from bmb.analytics.stratification.summary import (
        band_summary,
        kaiser_comparison,
        pyramid_counts,
    )
    from bmb.cli.console import console, print_table
    from bmb.cli.planning_io import open_planning_lake, save_derived, write_plot, years_of
    from bmb.domain.errors import UsageError
    from bmb.domain.stratification import default_pyramid, parse_pyramid_text

    rule_set = read_rules(rules)
    if config is not None:
        if not config.is_file():
            raise UsageError(f"{config}: no such configuration file")
        cfg = parse_pyramid_text(config.read_text(encoding="utf-8"), str(config))
    else:
        cfg = default_pyramid()
    with open_planning_lake(lake, "bmb stratify") as engine:
        spec = PopulationSpec.years(years_of(engine, years), region=region)
        reg = build_registry(engine, spec, rule_set)
        result = build_stratification(engine, spec, registry=reg, config=cfg)
        counts = pyramid_counts(engine, result)
        kaiser = kaiser_comparison(engine, result)
        bands = band_summary(engine, result)
        print_table(
            "Risk pyramid against the Kaiser pyramid",
            ["year", "tier", "n residents", "share %", "95% CI", "reference %", "verdict"],
            [
                [
                    str(k["year"]),
                    k["tier"],
                    k["persons"],
                    round(k["share"], 2),
                    f"{k['lower']:.2f}-{k['upper']:.2f}",
                    f"{k['reference_low']:g}-{k['reference_high']:g}",
                    k["verdict"],
                ]
                for k in kaiser.to_pylist()
            ],
        )
        last = spec.reference_dates[-1].year
        print_table(
            f"Resource-use bands, {last}",
            ["band", "name", "n residents", "share %", "cost share %", "mean cost"],
            [
                [
                    b["resource_band"],
                    b["band_name"],
                    b["persons"],
                    round(b["share"], 2),
                    round(b["cost_share"], 2),
                    round(b["mean_cost"], 0),
                ]
                for b in bands.to_pylist()
                if b["year"] == last
            ],
        )
        if save:
            note = f"pyramid {cfg.name} {cfg.version}"
            prov = result.provenance
            save_derived(engine, "stratification", result.rows(engine), prov, note)
            save_derived(engine, "stratification_counts", counts, prov, note)
            save_derived(engine, "stratification_kaiser", kaiser, prov, note)
            snap = save_derived(engine, "stratification_bands", bands, prov, note)
            console.print(
                f"Saved derived.stratification, _counts, _kaiser, _bands (snapshot {snap})"
            )
        if out is not None:
            from bmb.analytics.planning.pages import stratification_page

            path = write_result(
                counts,
                out,
                result.provenance,
                html=lambda: stratification_page(result, counts, kaiser, bands),
            )
            console.print(f"Wrote {path}")
        if plot is not None:
            from bmb.analytics.plots.charts import risk_pyramid

            console.print(f"Wrote {write_plot(risk_pyramid(kaiser, counts, last), plot)}")


def network(
    year: int = typer.Option(
        None, "--year", help="Reference year (default: the last).", show_default=False
    ),
    alpha: float = typer.Option(0.05, "--alpha", help="False discovery rate for edges."),
    rules: Path = RulesOption,
    region: str = RegionOption,
    lake: Path = LakeOption,
    out: Path = typer.Option(
        None,
        "--out",
        help="Every pair's measures: .csv, .parquet or .json.",
        show_default=False,
    ),
    graphml: Path = typer.Option(
        None, "--graphml", help="The network as GraphML (Gephi, Cytoscape).", show_default=False
    ),
    plot: Path = PlotOption,
    save: bool = SaveOption,
) -> None:
    """The comorbidity network: relative risk and phi for each pair of conditions, with
    confidence intervals, age-and-sex adjustment and false-discovery-rate control.

    Writes derived.comorbidity_network (one row per pair; 'edge' marks the network).

    Example: bmb network --year 2024 --graphml net.graphml --plot net.svg
    """
    from bmb.analytics.network import comorbidity_network, to_graphml
    from bmb.analytics.population import PopulationSpec
    from bmb.analytics.registry import build_registry
    from bmb.analytics.report import write_result
    from bmb.cli.console import console, print_table
    from bmb.cli.planning_io import open_planning_lake, save_derived, write_plot, years_of

    rule_set = read_rules(rules)
    with open_planning_lake(lake, "bmb network") as engine:
        y = year if year is not None else years_of(engine, None)[-1]
        reg = build_registry(engine, PopulationSpec.years([y], region=region), rule_set)
        net = comorbidity_network(engine, reg, y, alpha=alpha)
        top = sorted(net.edges.to_pylist(), key=lambda r: -r["phi"])[:15]
        print_table(
            f"Comorbidity network {y}: {net.edges.num_rows} edges of {net.pairs.num_rows} "
            f"pairs (FDR {alpha}); strongest by phi",
            ["condition", "condition ", "n together", "RR", "RR adjusted (95% CI)", "phi"],
            [
                [
                    r["condition_a"],
                    r["condition_b"],
                    r["together"],
                    round(r["rr"], 2),
                    f"{r['rr_adjusted']:.2f} ({r['rr_adjusted_lower']:.2f}-"
                    f"{r['rr_adjusted_upper']:.2f})",
                    round(r["phi"], 3),
                ]
                for r in top
            ],
        )
        if save:
            snap = save_derived(
                engine,
                "comorbidity_network",
                net.pairs,
                net.provenance,
                f"comorbidity network {y} alpha {alpha}",
            )
            console.print(f"Saved derived.comorbidity_network (snapshot {snap})")
    if out is not None:
        console.print(f"Wrote {write_result(net.pairs, out, net.provenance)}")
    if graphml is not None:
        graphml.write_text(to_graphml(net), encoding="utf-8")
        console.print(f"Wrote {graphml}")
    if plot is not None:
        from bmb.analytics.plots.charts import network_plot

        fig = network_plot(net.nodes, net.edges, f"Comorbidity network, {y}")
        console.print(f"Wrote {write_plot(fig, plot)}")
