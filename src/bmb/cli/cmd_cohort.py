"""``bmb cohort run`` and ``bmb cohort sql``: generate cohorts from their definitions."""

from __future__ import annotations

from pathlib import Path

import typer

from bmb.cli.cdm_source import (
    CdmCsvOption,
    CdmSchemaOption,
    OutOption,
    PostgresOption,
    ResultsSchemaOption,
    open_cdm,
)
from bmb.cli.options import LakeOption

cohort_app = typer.Typer(
    help="Cohorts: generate them from ATLAS JSON or BMB YAML definitions.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(cohort_app, name="cohort")


@cohort_app.command("run")
def run(
    definitions: list[Path] = typer.Argument(
        ..., help="Cohort definitions (.json ATLAS/BMB, .yaml)."
    ),
    first_id: int = typer.Option(1, "--id", help="Cohort id of the first definition (then +1)."),
    lake: Path = LakeOption,
    cdm_csv: Path = CdmCsvOption,
    postgres: str = PostgresOption,
    cdm_schema: str = CdmSchemaOption,
    results_schema: str = ResultsSchemaOption,
    out: Path = OutOption,
) -> None:
    """Generate cohorts and report their attrition.

    The rows (cohort_definition_id, subject_id, cohort_start_date, cohort_end_date) go
    to --out as CSV, Parquet or JSON; an .html --out is the attrition report of the
    first cohort. Without --out, counts and attrition are printed.

    Example: bmb cohort run gi_bleed.json --cdm-csv eunomia/GiBleed_5.3 --out gi.parquet
    """
    import pyarrow as pa

    from bmb.analytics.cohort import generate_cohort
    from bmb.analytics.cohort.io import read_definition
    from bmb.analytics.report import write_result
    from bmb.analytics.report.pages import cohort_page
    from bmb.cli.console import console, print_table

    parsed = [read_definition(p) for p in definitions]  # fail on a bad file before any work
    with open_cdm(
        lake, cdm_csv, postgres, cdm_schema, results_schema, command="bmb cohort run"
    ) as engine:
        results = [generate_cohort(engine, d, cohort_id=first_id + i) for i, d in enumerate(parsed)]
    for path, r in zip(definitions, results, strict=True):
        console.print(
            f"[bold]{r.name or path.stem}[/] (id {r.cohort_id}): {r.persons:,} persons, "
            f"{r.records:,} periods in {r.seconds:.2f} s"
        )
        if r.by_person.rules:
            print_table(
                "attrition (persons)",
                ["step", "n persons", "n lost"],
                r.by_person.steps(),
            )
    if out is not None:
        rows = pa.concat_tables([r.rows for r in results])
        written = write_result(
            rows, out, results[0].provenance, html=lambda: cohort_page(results[0])
        )
        console.print(f"Wrote {written}")


@cohort_app.command("sql")
def sql(
    definition: Path = typer.Argument(..., help="A cohort definition (.json, .yaml)."),
    dialect: str = typer.Option("duckdb", help="duckdb, postgres or spark."),
) -> None:
    """Print the SQL BMB runs for a definition, step by step, in an engine's dialect.

    Example: bmb cohort sql new_users.yaml --dialect postgres
    """
    from bmb.analytics.cohort import compile_cohort
    from bmb.analytics.cohort.io import read_definition
    from bmb.analytics.cohort.sqltext import transpile
    from bmb.domain.errors import UsageError

    if dialect not in ("duckdb", "postgres", "spark"):
        raise UsageError(f"unknown dialect {dialect!r}", hint="use duckdb, postgres or spark")
    plan = compile_cohort(read_definition(definition), "bmb_cohort")
    for name, select in plan.statements(dialect):
        typer.echo(f"-- {name}\nCREATE TEMPORARY TABLE {name} AS\n{select};\n")
    typer.echo(f"-- cohort rows\n{transpile(plan.cohort, dialect)};")
