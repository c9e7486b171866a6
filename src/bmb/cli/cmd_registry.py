"""``bmb registry``: the chronic-condition registry (BDA-style), its prevalence, its rules."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from bmb.cli.options import KeyFileOption, LakeOption
from bmb.cli.planning_io import (
    PlotOption,
    RegionOption,
    RulesOption,
    SaveOption,
    YearsOption,
    read_rules,
)

if TYPE_CHECKING:
    from bmb.analytics.registry import RegistryResult
    from bmb.engines.lake import LakeEngine

registry_app = typer.Typer(
    help=(
        "The chronic-condition registry: who has which condition on 31 December, from "
        "exemptions, pharmacy, hospital, emergency and lab records (OR rules in YAML).\n\n"
        "Example: bmb registry build --years 2023-2025 --out prevalence.csv"
    ),
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(registry_app, name="registry")


@registry_app.command("rules")
def rules(
    out: Path = typer.Option(
        None, "--out", help="Copy the default rules to this .yaml file.", show_default=False
    ),
) -> None:
    """Print BMB's default registry rules, or copy them to a file to edit.

    Example: bmb registry rules --out my-rules.yaml
    """
    from bmb.cli.console import console
    from bmb.domain.chronic import default_rules_text

    text = default_rules_text()
    if out is None:
        typer.echo(text, nl=False)
        return
    if out.suffix.lower() not in (".yaml", ".yml"):
        from bmb.domain.errors import UsageError

        raise UsageError(f"{out}: rules are YAML files (.yaml)")
    out.write_text(text, encoding="utf-8")
    console.print(f"Wrote {out}: edit it and pass it with --rules")


@registry_app.command("build")
def build(
    years: str = YearsOption,
    rules_file: Path = RulesOption,
    region: str = RegionOption,
    lake: Path = LakeOption,
    out: Path = typer.Option(
        None,
        "--out",
        help="Prevalence table: .csv, .parquet, .json or .html.",
        show_default=False,
    ),
    plot: Path = PlotOption,
    condition: str = typer.Option(
        None,
        "--condition",
        help="With --plot: chart this condition by district "
        "(default: a heat map of every condition).",
        show_default=False,
    ),
    truth: Path = typer.Option(
        None,
        "--truth",
        help="A synthetic region's truth/ folder: print sensitivity and PPV per condition.",
        show_default=False,
    ),
    key_file: Path = KeyFileOption,
    save: bool = SaveOption,
) -> None:
    """Flag every resident's chronic conditions and compute prevalence by district.

    Writes derived.registry (one row per person, year and condition, with the sources
    that flagged it), derived.registry_prevalence (by district, age band and sex, with
    Wilson intervals) and derived.registry_standardized (ESP 2013 by district).

    Example: bmb registry build --years 2023-2025 --truth region/truth --out prev.html
    """
    from bmb.analytics.population import PopulationSpec
    from bmb.analytics.registry import build_registry
    from bmb.analytics.registry.prevalence import prevalence, standardized_prevalence
    from bmb.analytics.report import write_result
    from bmb.cli.console import console, print_table
    from bmb.cli.planning_io import open_planning_lake, save_derived, write_plot, years_of

    rule_set = read_rules(rules_file)
    with open_planning_lake(lake, "bmb registry build") as engine:
        spec = PopulationSpec.years(years_of(engine, years), region=region)
        result = build_registry(engine, spec, rule_set)
        prev = prevalence(engine, result)
        std = standardized_prevalence(engine, result)
        console.print(
            f"Registry: {len(rule_set.conditions)} conditions, years "
            f"{', '.join(str(d.year) for d in spec.reference_dates)}, "
            f"{result.seconds:.1f} s ({result.provenance.describe()})"
        )
        last = spec.reference_dates[-1].year
        overall = [
            r
            for r in prev.to_pylist()
            if r["year"] == last
            and r["unit_code"] == "all"
            and r["age_band"] == "all"
            and r["sex"] == "all"
        ]
        print_table(
            f"Prevalence on 31 December {last}",
            ["condition", "n cases", "n residents", "prevalence %", "95% CI"],
            [
                [
                    r["condition"],
                    r["cases"],
                    r["population"],
                    round(r["prevalence"], 2),
                    f"{r['lower']:.2f}-{r['upper']:.2f}",
                ]
                for r in overall
            ],
        )
        if truth is not None:
            _print_validation(engine, result, truth, lake, key_file)
        if save:
            note = f"registry rules {rule_set.name} {rule_set.version}"
            save_derived(engine, "registry", result.rows(engine), result.provenance, note)
            save_derived(engine, "registry_prevalence", prev, result.provenance, note)
            snap = save_derived(engine, "registry_standardized", std, result.provenance, note)
            console.print(f"Saved derived.registry, _prevalence, _standardized (snapshot {snap})")
        if out is not None:
            from bmb.analytics.planning.pages import registry_page

            path = write_result(
                prev, out, result.provenance, html=lambda: registry_page(result, prev, std)
            )
            console.print(f"Wrote {path}")
        if plot is not None:
            from bmb.analytics.plots.charts import prevalence_by_district, prevalence_heatmap

            fig = (
                prevalence_by_district(prev, last, condition)
                if condition
                else prevalence_heatmap(std, last)
            )
            console.print(f"Wrote {write_plot(fig, plot)}")


def _print_validation(
    engine: LakeEngine,
    result: RegistryResult,
    truth: Path,
    lake: Path | None,
    key_file: Path | None,
) -> None:
    from bmb.analytics.registry.validate import validate_registry
    from bmb.cli.console import print_table
    from bmb.cli.options import lake_dir
    from bmb.cli.truth import load_truth

    t = load_truth(truth, lake_dir(lake), key_file)
    rows = validate_registry(engine, result, t.persons).to_pylist()
    last = max(r["year"] for r in rows)
    print_table(
        f"Registry against the synthetic truth, 31 December {last}",
        ["condition", "n true", "n flagged", "sensitivity (CI)", "PPV (CI)"],
        [
            [
                r["condition"],
                r["true_cases"],
                r["flagged"],
                f"{r['sensitivity']:.2f} ({r['sensitivity_lower']:.2f}-"
                f"{r['sensitivity_upper']:.2f})",
                f"{r['ppv']:.2f} ({r['ppv_lower']:.2f}-{r['ppv_upper']:.2f})",
            ]
            for r in rows
            if r["year"] == last
        ],
    )
