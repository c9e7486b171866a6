"""Who is acting on a governed command: ``--as USER`` (or ``$BMB_USER``), proved by a token.

Every governance command takes ``--as``; the user proves who they are with an API
token in ``$BMB_TOKEN`` (scripts, the service) or by typing their password on a terminal
(ADR 0013). The store, the lake and the acting user come together from :func:`acting`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from bmb.cli.options import lake_dir

if TYPE_CHECKING:
    from bmb.domain.governance.actors import Actor
    from bmb.governance.db import GovernanceStore
    from bmb.lake.store import Lake

AsOption = typer.Option(
    None,
    "--as",
    help="Act as this BMB user. Default: $BMB_USER. Proved by $BMB_TOKEN, else a password.",
    show_default=False,
)


@contextmanager
def acting(
    lake: Path | None, as_user: str | None, *, ungoverned_ok: bool = False
) -> Iterator[tuple[Lake, GovernanceStore, Actor]]:
    """The lake, its governance store, and the authenticated acting user.

    With ``ungoverned_ok``, a lake that has no BMB users yet is acted on by the
    operating-system account (as ``bmb ingest`` does); the action functions still decide
    what that account may do (:data:`bmb.governance.access.UNGOVERNED_ACTIONS`).
    """
    import os

    from bmb.domain.governance.actors import Actor
    from bmb.governance.access import user_count
    from bmb.service.governed import authenticate, governance, os_login

    with governance(lake_dir(lake)) as (the_lake, store):
        named = as_user or os.environ.get("BMB_USER") or os.environ.get("BMB_TOKEN")
        if ungoverned_ok and not named and user_count(store) == 0:
            actor = Actor.system(os_login())
        else:
            actor = authenticate(store, as_user, interactive=sys.stdin.isatty())
        yield the_lake, store, actor


def read_secret_line() -> str:
    """One line from stdin (``--password-stdin``), without its newline."""
    line = sys.stdin.readline()
    return line.rstrip("\r\n")
