"""``bmb audit``: verify the tamper-evident trail, read it, sign checkpoints, and tell a
citizen which projects had their data in scope.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from bmb.cli.acting import AsOption, acting
from bmb.cli.options import JsonOption, KeyFileOption, LakeOption

audit_app = typer.Typer(
    name="audit",
    help="The audit trail: hash-chained, with Ed25519-signed checkpoints.\n\n"
    "Example: bmb audit verify --as aldo",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app)


@audit_app.command("verify")
def verify(
    public_key: Path = typer.Option(
        None,
        help="The trusted checkpoint public key (hex). Default: the .pub beside the "
        "signing key, outside the lake.",
    ),
    lake: Path = LakeOption,
    as_user: str = AsOption,
    json_out: bool = JsonOption,
) -> None:
    """Recompute the chain and check every signed checkpoint; exit 1 on any fault.

    Detects a changed, removed or reordered entry anywhere, and the removal of the newest
    entries back to the last checkpoint.

    On a lake with no BMB users yet, the operating-system account may verify.

    Example: bmb audit verify --as aldo
    """
    from bmb.cli.console import console
    from bmb.domain.errors import BmbError
    from bmb.governance.signing import default_key_path, load_public_key, public_key_path
    from bmb.governance.trail import verify_trail

    with acting(lake, as_user, ungoverned_ok=True) as (the_lake, store, actor):
        key_path = public_key or public_key_path(default_key_path(the_lake.identity.lake_id))
        trusted = load_public_key(key_path) if key_path.is_file() else None
        if public_key is not None and trusted is None:
            raise BmbError(f"public key {public_key} not found")
        report = verify_trail(store, actor=actor, public_key=trusted)
    if json_out:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        verdict = "[green]intact[/]" if report.ok else "[red]TAMPERED[/]"
        console.print(
            f"Audit trail {verdict}: {report.entries:,} entries, head {report.head_seq}, "
            f"{report.checkpoints_verified}/{report.checkpoints} checkpoints verified"
            + ("" if report.trusted_key else " (no trusted public key: signatures unanchored)")
        )
        for f in report.faults:
            console.print(f"[red]entry {f.seq}: {f.kind.value}[/] {f.detail}")
    if not report.ok:
        raise BmbError(
            f"the audit trail fails verification ({len(report.faults)} fault(s))",
            hint="restore the governance store from a backup and investigate",
        )


@audit_app.command("log")
def log(
    action: str = typer.Option(None, help="Only actions starting with this (e.g. output.)."),
    actor_name: str = typer.Option(None, "--actor", help="Only this actor."),
    target: str = typer.Option(None, help="Only this target (e.g. output:4)."),
    limit: int = typer.Option(50, help="How many of the newest entries."),
    lake: Path = LakeOption,
    as_user: str = AsOption,
    json_out: bool = JsonOption,
) -> None:
    """Read the newest audit entries (auditors, controllers).

    Example: bmb audit log --action permit. --as aldo
    """
    from bmb.cli.console import print_table
    from bmb.governance.trail import read_trail

    with acting(lake, as_user, ungoverned_ok=True) as (_, store, actor):
        entries = read_trail(
            store,
            actor=actor,
            action_prefix=action,
            actor_name=actor_name,
            target=target,
            limit=limit,
        )
    if json_out:
        typer.echo(
            json.dumps(
                [
                    {
                        "seq": e.seq,
                        "at": e.at,
                        "actor": e.actor,
                        "action": e.action,
                        "target": e.target,
                        "outcome": e.outcome.value,
                        "details": dict(e.details),
                    }
                    for e in entries
                ],
                indent=2,
            )
        )
        return
    print_table(
        "Audit trail",
        ["#", "at (UTC)", "actor", "action", "target", "outcome"],
        [(e.seq, e.at[:19], e.actor, e.action, e.target, e.outcome.value) for e in entries],
    )


@audit_app.command("checkpoint")
def checkpoint(lake: Path = LakeOption, as_user: str = AsOption) -> None:
    """Sign the chain's head now with the lake's Ed25519 key (run it from cron too).

    The signing key lives outside the lake; it is created here if the lake has none.

    Example: bmb audit checkpoint --as carla
    """
    from bmb.cli.console import console
    from bmb.governance.signing import create_key, default_key_path, load_signer
    from bmb.governance.trail import sign_checkpoint

    with acting(lake, as_user) as (the_lake, store, actor):
        path = default_key_path(the_lake.identity.lake_id)
        signer = load_signer(path) if path.exists() else create_key(path)
        row = sign_checkpoint(store, actor=actor, signer=signer)
    console.print(f"Signed checkpoint at entry {row.seq} ({row.head_hash[:16]}...) with {path}")


@audit_app.command("transparency")
def transparency(
    fiscal_code: str = typer.Option(
        None, "--fiscal-code", help="Whose (staff answering a request); citizens see their own."
    ),
    lake: Path = LakeOption,
    key_file: Path = KeyFileOption,
    as_user: str = AsOption,
    json_out: bool = JsonOption,
) -> None:
    """Which projects had a person's data in scope: permit, purpose, dates, sessions.

    Example: bmb audit transparency --as cinzia
             bmb audit transparency --fiscal-code RSSMRA80A01D969Z --as stefano
    """
    from bmb.cli.console import console, print_table
    from bmb.domain.errors import UsageError
    from bmb.domain.identity import InvalidIdentifierError, person_id
    from bmb.governance.optout import person_history
    from bmb.governance.trail import transparency_subject
    from bmb.service.governed import transparency as compute

    with acting(lake, as_user) as (the_lake, store, actor):
        asked = None
        if fiscal_code is not None:
            try:
                asked = person_id(the_lake.key(key_file), fiscal_code)
            except InvalidIdentifierError as exc:
                raise UsageError(f"--fiscal-code: {exc.detail}") from None
        pid = transparency_subject(store, actor=actor, person_id=asked)
        uses = compute(the_lake, store, pid)
        events = person_history(store, pid)
    opted_out = bool(events and events[-1].opted_out)
    if json_out:
        typer.echo(
            json.dumps({"opted_out": opted_out, "projects": [u.to_dict() for u in uses]}, indent=2)
        )
        return
    console.print("Opted out of secondary use" if opted_out else "Not opted out")
    if not uses:
        console.print("No project has had these data in scope.")
        return
    print_table(
        "Projects that had these data in scope",
        ["project", "applicant", "permit", "purpose", "valid", "used", "# sessions"],
        [
            (
                f"{u.project_id}: {u.title}",
                u.applicant,
                u.permit_id,
                f"{u.purpose} ({u.purpose_article})",
                f"{u.starts} to {u.expires}",
                f"{u.first_session} to {u.last_session}",
                u.sessions,
            )
            for u in uses
        ],
    )
