"""``bmb output``: the review queue. Two reviewers release an output; only then it leaves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from bmb.cli.acting import AsOption, acting
from bmb.cli.options import JsonOption, LakeOption

if TYPE_CHECKING:
    from bmb.governance.outputs import Decision, OutputInfo

output_app = typer.Typer(
    name="output",
    help="Outputs waiting for review, reviewing them, and taking released ones out.\n\n"
    "Example: bmb output list --status pending --as stefano",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(output_app)


def _summary(info: OutputInfo) -> dict[str, Any]:
    return {
        "id": info.id,
        "project": info.project_id,
        "permit": info.permit_id,
        "requester": info.requester,
        "kind": info.kind,
        "name": info.name,
        "status": info.status.value,
        "created_at": info.created_at.isoformat(),
        "decided_at": info.decided_at.isoformat() if info.decided_at else None,
        "sha256": info.safe_sha256,
        "epsilon": info.epsilon,
        "description": info.description,
        "reviews": [
            {
                "reviewer": r.reviewer,
                "decision": r.decision.value,
                "comment": r.comment,
                "at": r.at.isoformat(),
            }
            for r in info.reviews
        ],
    }


@output_app.command("list")
def list_outputs(
    status: str = typer.Option(None, help="pending, returned, rejected or released."),
    lake: Path = LakeOption,
    as_user: str = AsOption,
    json_out: bool = JsonOption,
) -> None:
    """List outputs (all for reviewers and auditors; your permits' for researchers).

    Example: bmb output list --status pending --as stefano
    """
    from bmb.cli.console import print_table
    from bmb.domain.errors import UsageError
    from bmb.governance.outputs import OutputStatus
    from bmb.governance.outputs import list_outputs as list_all

    try:
        wanted = OutputStatus(status) if status else None
    except ValueError:
        raise UsageError(
            f"--status {status}: use pending, returned, rejected or released"
        ) from None
    with acting(lake, as_user) as (_, store, actor):
        rows = list_all(store, actor=actor, status=wanted)
    if json_out:
        typer.echo(json.dumps([_summary(r) for r in rows], indent=2))
        return
    print_table(
        "Outputs",
        ["id", "project", "requester", "kind", "name", "status", "approvals", "blocking"],
        [
            (
                r.id,
                r.project_id,
                r.requester,
                r.kind,
                r.name,
                r.status.value,
                sum(1 for v in r.reviews if v.decision.value == "approve"),
                "yes" if r.report.get("blocking") else "",
            )
            for r in rows
        ],
    )


@output_app.command("show")
def show(
    output_id: int = typer.Argument(..., help="The output's number."),
    rows: int = typer.Option(20, help="Rows of the output shown."),
    lake: Path = LakeOption,
    as_user: str = AsOption,
    json_out: bool = JsonOption,
) -> None:
    """Show an output: its policy report, its reviews, and the rows that would leave.

    Example: bmb output show 4 --as stefano
    """
    from bmb.cli.console import console, print_table
    from bmb.governance.outputs import get_output
    from bmb.service.governed import output_path, read_output

    with acting(lake, as_user) as (the_lake, store, actor):
        info = get_output(store, actor=actor, output_id=output_id)
        table = read_output(output_path(the_lake, info))
    if json_out:
        typer.echo(json.dumps({**_summary(info), "report": info.report}, indent=2, default=str))
        return
    console.print(
        f"Output [bold]{info.id}[/] {info.name} ({info.kind}) of {info.project_id}, permit "
        f"{info.permit_id}, requested by {info.requester}: [bold]{info.status.value}[/]"
    )
    if info.description:
        console.print(f"Description: {info.description}")
    console.print(f"Query: {info.report.get('sql', '')}")
    for f in info.report.get("findings", []):
        console.print(f"  {f['severity']:>8}  {f['rule']}: {f['message']}")
    measures = info.report.get("measures", {})
    if "risk" in measures:
        console.print(f"  risk: {json.dumps(measures['risk'])}")
    for r in info.reviews:
        console.print(f"  review by {r.reviewer}: {r.decision.value} {r.comment}")
    print_table(
        f"{table.num_rows:,} rows (first {min(rows, table.num_rows)})",
        table.column_names,
        [list(r.values()) for r in table.slice(0, rows).to_pylist()],
    )


def _decide(
    decision: Decision, output_id: int, comment: str, lake: Path | None, as_user: str | None
) -> None:
    from bmb.cli.console import console
    from bmb.governance.outputs import review_output

    with acting(lake, as_user) as (_, store, actor):
        info = review_output(
            store, actor=actor, output_id=output_id, decision=decision, comment=comment
        )
    approvals = sum(1 for r in info.reviews if r.decision.value == "approve")
    console.print(
        f"Output {info.id}: {decision.value} recorded; status {info.status.value} "
        f"({approvals} approval(s))"
    )


@output_app.command("approve")
def approve(
    output_id: int = typer.Argument(..., help="The output's number."),
    comment: str = typer.Option("", help="A note for the trail."),
    lake: Path = LakeOption,
    as_user: str = AsOption,
) -> None:
    """Approve an output; the second approval (by another reviewer) releases it.

    Example: bmb output approve 4 --as stefano
    """
    from bmb.governance.outputs import Decision

    _decide(Decision.APPROVE, output_id, comment, lake, as_user)


@output_app.command("reject")
def reject(
    output_id: int = typer.Argument(..., help="The output's number."),
    comment: str = typer.Option(..., help="Why it cannot leave."),
    lake: Path = LakeOption,
    as_user: str = AsOption,
) -> None:
    """Reject an output: it never leaves.

    Example: bmb output reject 4 --comment "cells by comune identify patients" --as sara
    """
    from bmb.governance.outputs import Decision

    _decide(Decision.REJECT, output_id, comment, lake, as_user)


@output_app.command("return")
def return_(
    output_id: int = typer.Argument(..., help="The output's number."),
    comment: str = typer.Option(..., help="What to change."),
    lake: Path = LakeOption,
    as_user: str = AsOption,
) -> None:
    """Return an output to its requester with comments (they make a new request).

    Example: bmb output return 4 --comment "use 10-year age bands" --as sara
    """
    from bmb.governance.outputs import Decision

    _decide(Decision.RETURN, output_id, comment, lake, as_user)


@output_app.command("download")
def download(
    output_id: int = typer.Argument(..., help="The output's number."),
    out: Path = typer.Option(..., "--out", help="Where to write it (same format)."),
    lake: Path = LakeOption,
    as_user: str = AsOption,
) -> None:
    """Take a released output out of the environment (the permit's members).

    Example: bmb output download 4 --out results/pyramid.csv --as rita
    """
    from bmb.cli.console import console
    from bmb.governance.outputs import download_output
    from bmb.service.governed import deliver

    with acting(lake, as_user) as (the_lake, store, actor):
        info = download_output(store, actor=actor, output_id=output_id)
        deliver(the_lake, info, out)
    console.print(f"Output {info.id} written to {out} (SHA-256 {info.safe_sha256[:16]}...)")
