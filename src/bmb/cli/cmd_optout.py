"""``bmb optout``: a citizen's objection to secondary use of their data (EHDS Art. 71)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from bmb.cli.acting import AsOption, acting
from bmb.cli.options import JsonOption, KeyFileOption, LakeOption

optout_app = typer.Typer(
    name="optout",
    help="The opt-out registry: from the next query on, an opted-out person is in no "
    "session's data.\n\nExample: bmb optout add --fiscal-code RSSMRA80A01D969Z --as stefano",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(optout_app)


FiscalCodeOption = typer.Option(
    None,
    "--fiscal-code",
    help="Whose opt-out (staff acting on a citizen's request). Citizens act for themselves.",
    show_default=False,
)


def _person(lake: object, fiscal_code: str | None, key_file: Path | None) -> int | None:
    from bmb.domain.errors import UsageError
    from bmb.domain.identity import InvalidIdentifierError, person_id
    from bmb.lake.store import Lake

    if fiscal_code is None:
        return None
    assert isinstance(lake, Lake)
    try:
        return person_id(lake.key(key_file), fiscal_code)
    except InvalidIdentifierError as exc:
        raise UsageError(f"--fiscal-code: {exc.detail}") from None


def _set(
    opted_out: bool,
    fiscal_code: str | None,
    channel: str,
    note: str,
    lake: Path | None,
    key_file: Path | None,
    as_user: str | None,
) -> None:
    from bmb.cli.console import console
    from bmb.governance.optout import set_opt_out

    with acting(lake, as_user) as (the_lake, store, actor):
        event = set_opt_out(
            store,
            actor=actor,
            person_id=_person(the_lake, fiscal_code, key_file),
            opted_out=opted_out,
            channel=channel,
            note=note,
        )
    what = "Opted out of secondary use" if opted_out else "Opt-out withdrawn"
    console.print(f"{what} at {event.at:%Y-%m-%d %H:%M:%S} UTC ({event.channel})")


ChannelOption = typer.Option("desk", help="How it was received: desk, mail, service.")
NoteOption = typer.Option("", help="A note for the registry (no health data).")


@optout_app.command("add")
def add(
    fiscal_code: str = FiscalCodeOption,
    channel: str = ChannelOption,
    note: str = NoteOption,
    lake: Path = LakeOption,
    key_file: Path = KeyFileOption,
    as_user: str = AsOption,
) -> None:
    """Opt a person out of secondary use; effective from the next query of every session.

    Example: bmb optout add --as cinzia                      (a citizen, for herself)
             bmb optout add --fiscal-code RSSMRA80A01D969Z --as stefano   (at a desk)
    """
    _set(True, fiscal_code, channel, note, lake, key_file, as_user)


@optout_app.command("withdraw")
def withdraw(
    fiscal_code: str = FiscalCodeOption,
    channel: str = ChannelOption,
    note: str = NoteOption,
    lake: Path = LakeOption,
    key_file: Path = KeyFileOption,
    as_user: str = AsOption,
) -> None:
    """Withdraw an opt-out: the person's data are used again from the next query.

    Example: bmb optout withdraw --as cinzia
    """
    _set(False, fiscal_code, channel, note, lake, key_file, as_user)


@optout_app.command("status")
def status(
    fiscal_code: str = FiscalCodeOption,
    lake: Path = LakeOption,
    key_file: Path = KeyFileOption,
    as_user: str = AsOption,
    json_out: bool = JsonOption,
) -> None:
    """Show a person's opt-out state and its whole history.

    Example: bmb optout status --as cinzia
    """
    from bmb.cli.console import console, print_table
    from bmb.governance.optout import history

    with acting(lake, as_user) as (the_lake, store, actor):
        events = history(store, actor=actor, person_id=_person(the_lake, fiscal_code, key_file))
    state = events[-1].opted_out if events else False
    if json_out:
        typer.echo(
            json.dumps(
                {
                    "opted_out": state,
                    "history": [
                        {
                            "opted_out": e.opted_out,
                            "at": e.at.isoformat(),
                            "by": e.by_user,
                            "channel": e.channel,
                        }
                        for e in events
                    ],
                },
                indent=2,
            )
        )
        return
    console.print("Opted out of secondary use" if state else "Not opted out")
    if events:
        print_table(
            "History",
            ["when (UTC)", "event", "by", "channel"],
            [
                (
                    f"{e.at:%Y-%m-%d %H:%M}",
                    "opt-out" if e.opted_out else "withdrawal",
                    e.by_user,
                    e.channel,
                )
                for e in events
            ],
        )
