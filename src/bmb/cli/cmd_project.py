"""``bmb project`` and ``bmb permit``: studies, and the data permits that authorize them."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from bmb.cli.acting import AsOption, acting
from bmb.cli.options import JsonOption, LakeOption

if TYPE_CHECKING:
    from bmb.domain.governance.permits import Permit

project_app = typer.Typer(
    name="project",
    help="Projects (studies) that permits authorize.\n\n"
    "Example: bmb project create diab-2025 --title 'Diabetes care' --applicant 'UniGe' "
    "--lead rita --as carla",
    no_args_is_help=True,
)
permit_app = typer.Typer(
    name="permit",
    help="Data permits: purpose, people, tables, population, period (EHDS Art. 68).\n\n"
    "Example: bmb permit grant --project diab-2025 --purpose scientific_research "
    "--member rita --table person --table condition_occurrence --expires 2026-12-31 --as carla",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(project_app)
    app.add_typer(permit_app)


@project_app.command("create")
def create(
    project_id: str = typer.Argument(..., help="Short id, also the project's pseudonym space."),
    title: str = typer.Option(..., help="What the study is."),
    applicant: str = typer.Option(..., help="The organisation that applied."),
    lead: str = typer.Option(..., help="The BMB user who leads it."),
    public_body: bool = typer.Option(
        False, help="The applicant is a public-sector body (needed for purposes a-c)."
    ),
    description: str = typer.Option("", help="A longer description."),
    lake: Path = LakeOption,
    as_user: str = AsOption,
) -> None:
    """Register a project (controllers).

    Example: bmb project create diab-2025 --title "Diabetes care pathways"
             --applicant "Università di Genova" --lead rita --as carla
    """
    from bmb.cli.console import console
    from bmb.governance.permits import create_project

    with acting(lake, as_user) as (_, store, actor):
        info = create_project(
            store,
            actor=actor,
            project_id=project_id,
            title=title,
            applicant=applicant,
            lead=lead,
            public_body=public_body,
            description=description,
        )
    console.print(f"Created project [bold]{info.id}[/]: {info.title}")


@project_app.command("list")
def list_projects(
    lake: Path = LakeOption, as_user: str = AsOption, json_out: bool = JsonOption
) -> None:
    """List projects (all for staff, your own for researchers and planners).

    Example: bmb project list --as rita
    """
    from bmb.cli.console import print_table
    from bmb.governance.permits import list_projects as list_all

    with acting(lake, as_user) as (_, store, actor):
        rows = list_all(store, actor=actor)
    if json_out:
        typer.echo(json.dumps([r.__dict__ for r in rows], indent=2, default=str))
        return
    print_table(
        "Projects",
        ["id", "title", "applicant", "public body", "lead"],
        [(r.id, r.title, r.applicant, "yes" if r.public_body else "no", r.lead) for r in rows],
    )


@permit_app.command("grant")
def grant(
    project: str = typer.Option(..., help="The project the permit authorizes."),
    purpose: str = typer.Option(..., help="EHDS purpose (see 'bmb permit purposes')."),
    member: list[str] = typer.Option(..., help="A named researcher or planner (repeat)."),
    table: list[str] = typer.Option(
        ...,
        help="A CDM table, optionally with columns: condition_occurrence:person_id,... (repeat).",
    ),
    expires: str = typer.Option(..., help="Last day of validity (YYYY-MM-DD)."),
    starts: str = typer.Option(None, help="First day of validity (default today)."),
    form: str = typer.Option(
        "anonymized", help="anonymized (aggregates, k-anonymous extracts) or pseudonymized."
    ),
    population: str = typer.Option(
        None, help="Restrict persons to cohort:<cohort_definition_id> or derived.<table>."
    ),
    policy: str = typer.Option("default", help="Output policy preset: default or threshold10."),
    policy_file: Path = typer.Option(
        None, help="YAML or JSON file overriding output policy settings."
    ),
    epsilon: float = typer.Option(None, help="Privacy budget (enables DP tables with dp_epsilon)."),
    lake: Path = LakeOption,
    as_user: str = AsOption,
) -> None:
    """Grant a data permit (controllers). Prohibited purposes are refused (EHDS Art. 54).

    Example: bmb permit grant --project diab-2025 --purpose scientific_research
             --member rita --table person --table condition_occurrence
             --form pseudonymized --expires 2026-12-31 --as carla
    """
    from bmb.cli.console import console
    from bmb.domain.disclosure.policy import OutputPolicy, preset
    from bmb.domain.errors import UsageError
    from bmb.domain.governance.permits import DataForm, Population, parse_table_scope
    from bmb.domain.governance.purposes import PurposeError, parse_purpose
    from bmb.governance.permits import grant_permit

    try:
        the_purpose = parse_purpose(purpose)
        the_form = DataForm(form)
        the_policy = preset(policy)
        if policy_file is not None:
            the_policy = OutputPolicy.from_dict(
                {**the_policy.to_dict(), **_read_policy(policy_file)}
            )
    except PurposeError as exc:
        raise UsageError(str(exc)) from None
    except ValueError as exc:
        raise UsageError(f"{exc}") from None
    with acting(lake, as_user) as (_, store, actor):
        permit = grant_permit(
            store,
            actor=actor,
            project_id=project,
            purpose=the_purpose,
            form=the_form,
            members=list(member),
            tables=[parse_table_scope(t) for t in table],
            starts=_date(starts, "--starts") if starts else date.today(),
            expires=_date(expires, "--expires"),
            population=Population.parse(population) if population else None,
            policy=the_policy,
            epsilon_budget=epsilon,
        )
    console.print(
        f"Granted permit [bold]{permit.permit_id}[/] to {permit.project_id} for "
        f"{permit.purpose.value} ({permit.purpose.article}), {permit.starts} to {permit.expires}"
    )


def _date(text: str, option: str) -> date:
    from bmb.domain.errors import UsageError

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option}: {text!r} is not a date (YYYY-MM-DD)") from None


def _read_policy(path: Path) -> dict[str, Any]:
    import yaml

    from bmb.domain.errors import UsageError

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise UsageError(f"cannot read policy file {path}: {exc}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: a policy file is a mapping of settings")
    return data


def permit_dict(p: Permit, today: date) -> dict[str, Any]:
    return {
        "permit": p.permit_id,
        "project": p.project_id,
        "purpose": p.purpose.value,
        "article": p.purpose.article,
        "form": p.form.value,
        "members": sorted(p.members),
        "tables": [s.to_text() for s in p.tables],
        "population": p.population.to_text() if p.population else None,
        "starts": p.starts.isoformat(),
        "expires": p.expires.isoformat(),
        "state": p.state(today).value,
        "policy": p.policy.to_dict(),
        "epsilon_budget": p.epsilon_budget,
    }


@permit_app.command("list")
def list_permits(
    project: str = typer.Option(None, help="Only this project's permits."),
    lake: Path = LakeOption,
    as_user: str = AsOption,
    json_out: bool = JsonOption,
) -> None:
    """List permits (all for staff, those naming you for researchers and planners).

    Example: bmb permit list --project diab-2025 --as carla
    """
    from bmb.cli.console import print_table
    from bmb.governance.permits import list_permits as list_all

    with acting(lake, as_user) as (_, store, actor):
        permits = list_all(store, actor=actor, project_id=project)
    today = date.today()
    if json_out:
        typer.echo(json.dumps([permit_dict(p, today) for p in permits], indent=2))
        return
    print_table(
        "Permits",
        ["id", "project", "purpose", "form", "members", "until", "state"],
        [
            (
                p.permit_id,
                p.project_id,
                p.purpose.value,
                p.form.value,
                ", ".join(sorted(p.members)),
                p.expires,
                p.state(today).value,
            )
            for p in permits
        ],
    )


@permit_app.command("show")
def show(
    permit_id: int = typer.Argument(..., help="The permit's number."),
    lake: Path = LakeOption,
    as_user: str = AsOption,
) -> None:
    """Show a permit in full (JSON): scope, population, policy, budget.

    Example: bmb permit show 1 --as rita
    """
    from bmb.governance.permits import get_permit

    with acting(lake, as_user) as (_, store, actor):
        permit = get_permit(store, actor=actor, permit_id=permit_id)
    typer.echo(json.dumps(permit_dict(permit, date.today()), indent=2))


@permit_app.command("revoke")
def revoke(
    permit_id: int = typer.Argument(..., help="The permit's number."),
    reason: str = typer.Option(..., help="Why (kept in the audit trail)."),
    lake: Path = LakeOption,
    as_user: str = AsOption,
) -> None:
    """Revoke a permit now: no new session, no release of its pending outputs.

    Example: bmb permit revoke 3 --reason "ethics approval withdrawn" --as carla
    """
    from bmb.cli.console import console
    from bmb.governance.permits import revoke_permit

    with acting(lake, as_user) as (_, store, actor):
        revoke_permit(store, actor=actor, permit_id=permit_id, reason=reason)
    console.print(f"Revoked permit {permit_id}")


@permit_app.command("purposes")
def purposes() -> None:
    """List the purposes a permit may have (EHDS Art. 53) and the prohibited uses.

    Example: bmb permit purposes
    """
    from bmb.cli.console import print_table
    from bmb.domain.governance.purposes import ProhibitedUse, Purpose

    print_table(
        "Allowed purposes",
        ["purpose", "article", "public bodies only", "meaning"],
        [
            (p.value, p.article, "yes" if p.public_bodies_only else "", p.description)
            for p in Purpose
        ],
    )
    print_table(
        "Prohibited uses (always refused)",
        ["use", "article"],
        [(u.value, u.article) for u in ProhibitedUse],
    )
