"""``bmb user``: accounts, roles, passwords and API tokens of the governance store."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from bmb.cli.acting import AsOption, acting, read_secret_line
from bmb.cli.options import JsonOption, KeyFileOption, LakeOption, lake_dir

user_app = typer.Typer(
    name="user",
    help=(
        "Users and roles: controller, steward, planner, researcher, industry, citizen, "
        "auditor.\n\nExample: bmb user add rita --role researcher --as carla"
    ),
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(user_app)


@user_app.command("add")
def add(
    name: str = typer.Argument(..., help="The new user's name (letters, digits, . _ -)."),
    role: str = typer.Option(
        ...,
        "--role",
        help="controller, steward, planner, researcher, industry, citizen or auditor.",
    ),
    display_name: str = typer.Option("", help="Full name, shown in lists."),
    fiscal_code: str = typer.Option(
        None, help="Citizens only: their fiscal code (used once to find their person_id)."
    ),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the new user's password from standard input."
    ),
    token: bool = typer.Option(True, help="Print a new API token for the user (shown once)."),
    token_days: int = typer.Option(90, help="Days the printed token is valid."),
    lake: Path = LakeOption,
    key_file: Path = KeyFileOption,
    as_user: str = AsOption,
) -> None:
    """Create a user. The very first user is a controller, created by the key holder.

    On a store without users, whoever holds the lake's pseudonymization key (--key-file)
    creates the first controller; after that only a controller creates users.

    Example: bmb user add carla --role controller   (first user)
             bmb user add rita --role researcher --as carla
    """
    from bmb.cli.console import console
    from bmb.domain.errors import UsageError
    from bmb.domain.governance.actors import Actor
    from bmb.domain.governance.roles import Role, parse_role
    from bmb.domain.identity import InvalidIdentifierError, person_id
    from bmb.governance import users
    from bmb.governance.access import user_count
    from bmb.service.governed import governance, os_login

    try:
        the_role = parse_role(role)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    password = read_secret_line() if password_stdin else None
    with governance(lake_dir(lake)) as (the_lake, store):
        pid = None
        if fiscal_code is not None:
            try:
                pid = person_id(the_lake.key(key_file), fiscal_code)
            except InvalidIdentifierError as exc:
                raise UsageError(f"--fiscal-code: {exc.detail}") from None
        if user_count(store) == 0:
            if the_role is not Role.CONTROLLER:
                raise UsageError("the first user must be a controller (--role controller)")
            the_lake.key(key_file)  # proof of being the controller: holding the key
            info = users.bootstrap_controller(
                store,
                actor=Actor.system(os_login()),
                name=name,
                password=password,
                display_name=display_name,
            )
            actor = info.actor()
        else:
            import sys

            from bmb.service.governed import authenticate

            actor = authenticate(store, as_user, interactive=sys.stdin.isatty())
            info = users.create_user(
                store,
                actor=actor,
                name=name,
                role=the_role,
                password=password,
                display_name=display_name,
                person_id=pid,
            )
        console.print(f"Created {info.role.value} [bold]{info.name}[/]")
        if token:
            secret = users.issue_token(
                store,
                actor=actor,
                name=info.name,
                label="created with the account",
                days=token_days,
            )
            console.print(f"API token for {info.name} (shown once, valid {token_days} days):")
            typer.echo(secret)


@user_app.command("list")
def list_(lake: Path = LakeOption, as_user: str = AsOption, json_out: bool = JsonOption) -> None:
    """List users and their roles (controllers, stewards, auditors).

    Example: bmb user list --as carla
    """
    from bmb.cli.console import print_table
    from bmb.governance.users import list_users

    with acting(lake, as_user) as (_, store, actor):
        rows = list_users(store, actor=actor)
    if json_out:
        typer.echo(
            json.dumps(
                [
                    {
                        "name": u.name,
                        "role": u.role.value,
                        "display_name": u.display_name,
                        "active": u.active,
                        "created_at": u.created_at.isoformat(),
                    }
                    for u in rows
                ],
                indent=2,
            )
        )
        return
    print_table(
        "Users",
        ["name", "role", "display name", "active", "created"],
        [
            (
                u.name,
                u.role.value,
                u.display_name,
                "yes" if u.active else "no",
                f"{u.created_at:%Y-%m-%d}",
            )
            for u in rows
        ],
    )


@user_app.command("disable")
def disable(
    name: str = typer.Argument(..., help="The user to disable."),
    lake: Path = LakeOption,
    as_user: str = AsOption,
) -> None:
    """Disable a user: no more sign-ins or tokens; their history stays (controllers).

    Example: bmb user disable remo --as carla
    """
    from bmb.cli.console import console
    from bmb.governance.users import disable_user

    with acting(lake, as_user) as (_, store, actor):
        disable_user(store, actor=actor, name=name)
    console.print(f"Disabled {name}")


@user_app.command("token")
def token(
    name: str = typer.Argument(None, help="Whose token (default: your own)."),
    label: str = typer.Option("", help="What the token is for."),
    days: int = typer.Option(90, help="Days of validity (0: no expiry)."),
    lake: Path = LakeOption,
    as_user: str = AsOption,
) -> None:
    """Issue an API token (shown once). Set it as BMB_TOKEN to act without a password.

    Example: export BMB_TOKEN=$(bmb user token --as rita --label laptop)
    """
    from bmb.governance.users import issue_token

    with acting(lake, as_user) as (_, store, actor):
        secret = issue_token(
            store, actor=actor, name=name or actor.name, label=label, days=days or None
        )
    typer.echo(secret)


@user_app.command("revoke-token")
def revoke_token(
    token_id: int = typer.Argument(..., help="The number in bmb_<number>_... ."),
    lake: Path = LakeOption,
    as_user: str = AsOption,
) -> None:
    """Revoke an API token (your own, or anyone's as a controller).

    Example: bmb user revoke-token 7 --as rita
    """
    from bmb.cli.console import console
    from bmb.governance.users import revoke_token as revoke

    with acting(lake, as_user) as (_, store, actor):
        revoke(store, actor=actor, token_id=token_id)
    console.print(f"Revoked token {token_id}")


@user_app.command("password")
def password(
    name: str = typer.Argument(None, help="Whose password (default: your own)."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the new password from standard input."
    ),
    lake: Path = LakeOption,
    as_user: str = AsOption,
) -> None:
    """Set a password (your own, or anyone's as a controller). At least 12 characters.

    Example: bmb user password --as rita
    """
    from bmb.cli.console import console
    from bmb.domain.errors import UsageError
    from bmb.governance.users import set_password

    with acting(lake, as_user) as (_, store, actor):
        if password_stdin:
            new = read_secret_line()
        else:
            import getpass

            new = getpass.getpass("New password: ")
            if getpass.getpass("Again: ") != new:
                raise UsageError("the two passwords differ")
        set_password(store, actor=actor, name=name or actor.name, password=new)
    console.print("Password set")


@user_app.command("whoami")
def whoami(lake: Path = LakeOption, as_user: str = AsOption) -> None:
    """Show who you are acting as, and your role.

    Example: BMB_TOKEN=... bmb user whoami
    """
    with acting(lake, as_user) as (_, _store, actor):
        role = actor.role.value if actor.role else "-"
        typer.echo(f"{actor.name} ({role})")
