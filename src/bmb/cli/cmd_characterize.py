"""``bmb characterize``: Table 1 of cohorts side by side, with standardized differences."""

from __future__ import annotations

from pathlib import Path

import typer

from bmb.cli.cdm_source import (
    CdmCsvOption,
    CdmSchemaOption,
    OutOption,
    PostgresOption,
    ResultsSchemaOption,
    cohort_ref,
    open_cdm,
)
from bmb.cli.options import LakeOption


def register(app: typer.Typer) -> None:
    app.command("characterize")(characterize)


def characterize(
    cohorts: list[Path] = typer.Argument(
        ..., help="Cohorts: definitions (.json, .yaml) or cohort files (.csv, .parquet)."
    ),
    drugs: str = typer.Option(
        "auto", help="Drug covariates from drug_era (ingredients), drug_exposure, or auto."
    ),
    lake: Path = LakeOption,
    cdm_csv: Path = CdmCsvOption,
    postgres: str = PostgresOption,
    cdm_schema: str = CdmSchemaOption,
    results_schema: str = ResultsSchemaOption,
    out: Path = OutOption,
) -> None:
    """Baseline characteristics: age, sex, comorbidities, Charlson index, drugs, visits.

    The first cohort is the reference of the standardized mean differences. --out
    .html is a readable Table 1; .csv/.parquet hold every covariate.

    Example: bmb characterize celecoxib.json diclofenac.json --cdm-csv GiBleed --out t1.html
    """
    from bmb.analytics.characterization import characterize as run
    from bmb.analytics.characterization import default_builders
    from bmb.analytics.report import write_result
    from bmb.analytics.report.pages import table1_page
    from bmb.cli.console import console, print_table
    from bmb.domain.errors import UsageError

    if drugs not in ("auto", "drug_era", "drug_exposure"):
        raise UsageError(f"--drugs {drugs!r}", hint="use auto, drug_era or drug_exposure")
    with open_cdm(
        lake, cdm_csv, postgres, cdm_schema, results_schema, command="bmb characterize"
    ) as engine:
        refs = [cohort_ref(engine, p, i + 1) for i, p in enumerate(cohorts)]
        source = drugs
        if source == "auto":
            n = engine.query("SELECT COUNT(*) AS n FROM (SELECT 1 FROM drug_era LIMIT 1) x")
            source = "drug_era" if n.column(0)[0].as_py() else "drug_exposure"
        t1 = run(engine, refs, builders=default_builders(drugs_from=source))
    for c in t1.cohorts:
        console.print(f"[bold]{c.name}[/]: {c.rows:,} cohort periods, {c.persons:,} persons")
    shown = [r for r in t1.rows if r.analysis in ("demographics", "comorbidity")][:20]
    print_table(
        "Table 1 (demographics, comorbidity)",
        ["covariate", *[c.name for c in t1.cohorts], *[f"SMD {c.name}" for c in t1.cohorts[1:]]],
        [[r.name, *[round(v.mean, 3) for v in r.values], *r.smd[1:]] for r in shown],
    )
    if out is not None:
        console.print(
            f"Wrote {write_result(t1.to_arrow(), out, t1.provenance, html=lambda: table1_page(t1))}"
        )
