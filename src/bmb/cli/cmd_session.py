"""``bmb session``: work under a permit; every result goes through the output policy
and into the review queue, never straight to a file.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from bmb.cli.acting import AsOption, acting
from bmb.cli.options import JsonOption, KeyFileOption, LakeOption

if TYPE_CHECKING:
    from bmb.engines.session import PermitSession
    from bmb.engines.session_outputs import SessionOutput

session_app = typer.Typer(
    name="session",
    help="Queries under a permit: scope, opt-outs and project pseudonyms applied by the "
    "engine; results reviewed before they leave.\n\n"
    'Example: bmb session tabulate --permit 1 "SELECT person_id, ... FROM ..." --by sex '
    "--out sex.csv --as rita",
    no_args_is_help=True,
)

PermitOption = typer.Option(..., "--permit", help="The permit to work under.")
OutOption = typer.Option(
    ..., "--out", help="Name of the output requested (.csv, .parquet or .json)."
)
DescriptionOption = typer.Option("", help="What the output is, for the reviewers.")
SnapshotOption = typer.Option(None, help="Read this lake snapshot instead of the latest.")


def register(app: typer.Typer) -> None:
    app.add_typer(session_app)


def _run(
    lake: Path | None,
    as_user: str | None,
    permit: int,
    key_file: Path | None,
    snapshot: int | None,
    make: Callable[[PermitSession], SessionOutput],
    out: Path,
    description: str,
    json_out: bool,
) -> None:
    from bmb.cli.console import console
    from bmb.domain.errors import UsageError
    from bmb.service.governed import (
        OUTPUT_FORMATS,
        check_budget,
        open_governed_session,
        request_output,
    )

    if out.suffix.lower() not in OUTPUT_FORMATS:
        raise UsageError(f"--out {out}: name the output .csv, .parquet or .json")
    with (
        acting(lake, as_user) as (the_lake, store, actor),
        open_governed_session(
            the_lake, store, actor=actor, permit_id=permit, key_file=key_file, snapshot=snapshot
        ) as gs,
    ):
        check_budget(gs)
        output = make(gs.session)
        info = request_output(gs, output, name=str(out), description=description)
    if json_out:
        typer.echo(
            json.dumps(
                {"output": info.id, "status": info.status.value, "report": info.report},
                indent=2,
                default=str,
            )
        )
        return
    console.print(
        f"Output [bold]{info.id}[/] ({info.kind}, {output.table.num_rows:,} rows) queued for "
        f"review as {info.name}: {info.status.value}"
    )
    for f in info.report.get("findings", []):
        style = {"blocking": "red", "review": "yellow"}.get(f["severity"], "dim")
        console.print(f"[{style}]{f['severity']}[/] {f['rule']}: {f['message']}")
    console.print(f"It leaves only after two reviewers approve it: bmb output show {info.id}")


@session_app.command("sql")
def sql(
    query: str = typer.Argument(
        ..., help="An aggregate query (DuckDB SQL) on the permit's tables."
    ),
    permit: int = PermitOption,
    out: Path = OutOption,
    dimension: list[str] = typer.Option(
        [], help="A result column that is a dimension although numeric (e.g. year); repeat."
    ),
    description: str = DescriptionOption,
    snapshot: int = SnapshotOption,
    lake: Path = LakeOption,
    key_file: Path = KeyFileOption,
    as_user: str = AsOption,
    json_out: bool = JsonOption,
) -> None:
    """Run an aggregate query; its counts are redacted and rounded, then reviewed.

    Integer columns are counts (unless --dimension); margins are rows with NULL dimensions
    (GROUP BY ROLLUP/CUBE). Person-level results are refused: use 'bmb session extract'.

    Example: bmb session sql --permit 1 --out by_year.csv --dimension year
             "SELECT year(condition_start_date) AS year, count(DISTINCT person_id) AS n
              FROM condition_occurrence GROUP BY ROLLUP (1)" --as rita
    """
    from bmb.engines.session_outputs import custom

    _run(
        lake,
        as_user,
        permit,
        key_file,
        snapshot,
        lambda s: custom(s, query, dimensions=dimension),
        out,
        description,
        json_out,
    )


@session_app.command("tabulate")
def tabulate(
    query: str = typer.Argument(..., help="A query with person_id and the columns to tabulate."),
    permit: int = PermitOption,
    out: Path = OutOption,
    by: list[str] = typer.Option(..., help="A dimension of the table (repeat)."),
    sum_: list[str] = typer.Option([], "--sum", help="A numeric column to sum (repeat)."),
    mean: list[str] = typer.Option([], help="A numeric column to average (repeat)."),
    margins: bool = typer.Option(True, help="Add totals over every dimension."),
    description: str = DescriptionOption,
    snapshot: int = SnapshotOption,
    lake: Path = LakeOption,
    key_file: Path = KeyFileOption,
    as_user: str = AsOption,
    json_out: bool = JsonOption,
) -> None:
    """Count persons per cell (with margins), sums and means: fully policy-checked.

    The engine counts distinct persons, applies small-count redaction, secondary
    suppression, the dominance rules for sums and means, rounding, the differencing
    guard, and differential privacy if the permit has a budget.

    Example: bmb session tabulate --permit 1 --by sex --by age_band --out pyramid.csv
             "SELECT person_id, gender_source_value AS sex,
                     (2024 - year_of_birth) // 10 * 10 AS age_band FROM person" --as rita
    """
    from bmb.engines.session_outputs import tabulate as run

    _run(
        lake,
        as_user,
        permit,
        key_file,
        snapshot,
        lambda s: run(s, query, by=by, sums=sum_, means=mean, margins=margins),
        out,
        description,
        json_out,
    )


@session_app.command("extract")
def extract(
    query: str = typer.Argument(..., help="A person-level query with a person_id column."),
    permit: int = PermitOption,
    out: Path = OutOption,
    qi: list[str] = typer.Option(
        [],
        help="Declare quasi-identifiers COLUMN=KIND (number, sex, place, date, category); "
        "replaces detection.",
    ),
    sensitive: list[str] = typer.Option([], help="A sensitive column for l-diversity (repeat)."),
    description: str = DescriptionOption,
    snapshot: int = SnapshotOption,
    lake: Path = LakeOption,
    key_file: Path = KeyFileOption,
    as_user: str = AsOption,
    json_out: bool = JsonOption,
) -> None:
    """A person-level extract, generalized to the permit's k and l, with its risks.

    Quasi-identifiers are found by column (year_of_birth, gender_concept_id,
    location_id, dates...) unless given with --qi. Under an anonymized permit all ids
    are removed; under a pseudonymized one person_id is the project's pseudonym.

    Example: bmb session extract --permit 1 --out cohort.parquet --sensitive condition
             "SELECT person_id, year_of_birth, gender_concept_id, location_id,
                     condition_concept_id AS condition FROM person
              JOIN condition_occurrence USING (person_id)" --as rita
    """
    from bmb.domain.disclosure.hierarchies import QiKind
    from bmb.domain.errors import UsageError
    from bmb.engines.session_extract import extract as run

    declared: dict[str, QiKind] | None = None
    if qi:
        declared = {}
        for item in qi:
            col, _, kind = item.partition("=")
            try:
                declared[col.strip()] = QiKind(kind.strip())
            except ValueError:
                kinds = ", ".join(k.value for k in QiKind)
                raise UsageError(f"--qi {item}: use COLUMN=KIND with KIND one of {kinds}") from None
    _run(
        lake,
        as_user,
        permit,
        key_file,
        snapshot,
        lambda s: run(s, query, quasi_identifiers=declared, sensitive=sensitive),
        out,
        description,
        json_out,
    )


@session_app.command("tables")
def tables(
    permit: int = PermitOption,
    lake: Path = LakeOption,
    key_file: Path = KeyFileOption,
    as_user: str = AsOption,
) -> None:
    """List the tables and columns a session under the permit shows (no data).

    Example: bmb session tables --permit 1 --as rita
    """
    from bmb.cli.console import print_table
    from bmb.domain.cdm import VOCABULARY_TABLES
    from bmb.service.governed import open_governed_session

    with (
        acting(lake, as_user) as (the_lake, store, actor),
        open_governed_session(
            the_lake, store, actor=actor, permit_id=permit, key_file=key_file
        ) as gs,
    ):
        rows = []
        for name in gs.session.table_names():
            if name in VOCABULARY_TABLES:
                continue
            cols = gs.session.query(f"SELECT * FROM {name} LIMIT 0").column_names
            rows.append((name, ", ".join(cols)))
        label = gs.session.snapshot_label
    print_table(
        f"Tables of permit {permit} ({label}; vocabularies too)", ["table", "columns"], rows
    )
