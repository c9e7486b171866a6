"""``bmb fhir``: SQL-on-FHIR v2 views over FHIR data, and the conformance suite."""

from __future__ import annotations

import json
from pathlib import Path

import typer

DEFAULT_SUITE = Path("..") / "shared" / "fixtures" / "sql-on-fhir-v2"


def register(app: typer.Typer) -> None:
    """Add the ``fhir`` group (``view``, ``conformance``) to the ``bmb`` app."""
    group = typer.Typer(
        help=(
            "FHIR R4 data through SQL-on-FHIR v2 ViewDefinitions.\n\n"
            "Example: bmb fhir view patients.json out/fhir/Patient.ndjson --out patients.parquet"
        ),
        no_args_is_help=True,
    )
    group.command("view")(view)
    group.command("conformance")(conformance)
    app.add_typer(group, name="fhir")


def view(
    view_file: Path = typer.Argument(..., help="The ViewDefinition (JSON)."),
    inputs: list[Path] = typer.Argument(
        ...,
        help="FHIR input: NDJSON (.ndjson, .ndjson.gz), Bundles (.json, .json.gz), or folders "
        "(a Bulk Data export: the files named after the view's resource type are read).",
    ),
    out: Path = typer.Option(..., "--out", help="Output file: .parquet, .csv or .ndjson."),
    path: str = typer.Option(
        "auto",
        "--path",
        help="auto (compiled SQL when the view allows it), compiled, or reference.",
    ),
    workers: int = typer.Option(0, help="Cores to use (0 = all)."),
    json_out: bool = typer.Option(False, "--json", help="Print the run summary as JSON."),
) -> None:
    """Evaluate a ViewDefinition over FHIR resources and write its rows.

    The view is compiled to DuckDB SQL when the compiler supports everything it uses
    (it says which path ran, and why); otherwise the reference FHIRPath evaluator runs
    on worker processes. Output is written whole or not at all.

    Example: bmb fhir view views/observations.json region/fhir/Observation.ndjson --out obs.parquet
    """
    from bmb.cli.console import console, progress_bar
    from bmb.sources.fhir.runner import run_view
    from bmb.sources.fhir.viewdef import load_view
    from bmb.sources.fhir.writers import output_format

    output_format(out)
    definition = load_view(view_file)
    with progress_bar() as bar:
        summary = run_view(
            definition, inputs, out, path=path, workers=workers or None, progress=bar
        )
    if json_out:
        typer.echo(json.dumps(_summary(summary, out)))
        return
    rate = summary.bytes / max(summary.seconds, 1e-9) / 1e6
    console.print(
        f"{summary.rows:,} rows -> [bold]{out}[/] in {summary.seconds:.1f} s "
        f"({summary.files} file(s), {summary.bytes / 1e6:,.0f} MB, {rate:,.0f} MB/s)"
    )
    console.print(f"path: {summary.path} ({summary.reason})")


def _summary(summary: object, out: Path) -> dict[str, object]:
    data = {k: getattr(summary, k) for k in ("path", "reason", "files", "bytes", "rows", "seconds")}
    data["out"] = str(out)
    return data


def conformance(
    suite: Path = typer.Option(
        None, "--suite", help="The sql-on-fhir-v2 tests folder (default ../shared/fixtures/...)."
    ),
    out: Path = typer.Option(
        Path("test-results.json"), "--out", help="Where to write the suite's test report."
    ),
    path: str = typer.Option(
        "reference", "--path", help="reference, or compiled (declined cases fall back)."
    ),
) -> None:
    """Run the SQL-on-FHIR v2 conformance suite and write test-results.json.

    The report has the suite's own shape ({file: {tests: [{name, result: {passed}}]}}),
    the one the SQL-on-FHIR implementers' page reads. Exit code 1 when a shareable
    case fails.

    Example: bmb fhir conformance --suite ../shared/fixtures/sql-on-fhir-v2 --out test-results.json
    """
    from typing import Any

    from bmb.cli.console import console, print_table, progress_bar
    from bmb.domain.errors import UsageError
    from bmb.sources.fhir.conformance import load_suite, run_suite
    from bmb.sources.fhir.reference import evaluate_view
    from bmb.sources.fhir.sql import Declined, evaluate_compiled
    from bmb.sources.fhir.viewdef import parse_view

    if suite is None:
        if not DEFAULT_SUITE.is_dir():
            raise UsageError(f"no conformance suite at {DEFAULT_SUITE}", hint="pass --suite DIR")
        suite = DEFAULT_SUITE
    if path not in ("reference", "compiled"):
        raise UsageError(f"--path {path}: choose reference or compiled")

    def evaluate(view: dict[str, Any], resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
        definition = parse_view(view)
        if path == "compiled":
            try:
                return evaluate_compiled(definition, resources)
            except Declined:
                pass
        return evaluate_view(definition, resources)

    cases = load_suite(suite)
    with progress_bar() as bar:
        report = run_suite(cases, evaluate, bar)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report.to_json(), indent=2) + "\n", encoding="utf-8")
    rows = [(f, kind, p, n) for f, kind, p, n in report.summary()]
    print_table("SQL-on-FHIR v2 conformance", ["file", "tags", "# passed", "# failed"], rows)
    shareable = [o for o in report.outcomes if o.case.shareable]
    experimental = [o for o in report.outcomes if not o.case.shareable]
    console.print(
        f"shareable {sum(o.passed for o in shareable)}/{len(shareable)}, "
        f"experimental {sum(o.passed for o in experimental)}/{len(experimental)}; "
        f"report: {out}"
    )
    for o in report.outcomes:
        if not o.passed:
            console.print(f"[red]FAILED[/] {o.case.id}: {o.reason}")
    if any(not o.passed for o in shareable):
        raise typer.Exit(1)
