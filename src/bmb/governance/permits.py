"""Projects and data permits: creating, granting, revoking, reading.

A project is the applicant's study; a permit (EHDS Art. 68) authorizes it for one
purpose, named users, a scope and a period. Permits are never edited: a change is a
revocation and a new grant, so the audit trail and the citizen's transparency page
show exactly what was allowed when.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bmb.domain.disclosure.policy import OutputPolicy
from bmb.domain.errors import UsageError
from bmb.domain.governance.actors import Actor
from bmb.domain.governance.errors import PermitError
from bmb.domain.governance.permits import (
    DataForm,
    Permit,
    Population,
    TableScope,
    validate_scope,
)
from bmb.domain.governance.purposes import Purpose
from bmb.domain.governance.roles import Action, Role
from bmb.governance.access import refuse, require
from bmb.governance.audit import append
from bmb.governance.db import GovernanceStore
from bmb.governance.schema import PermitMemberRow, PermitRow, ProjectRow, UserRow

_PROJECT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
#: Roles that may be named in a permit: they are the ones who open sessions.
MEMBER_ROLES = frozenset({Role.RESEARCHER, Role.PLANNER})


@dataclass(frozen=True)
class ProjectInfo:
    id: str
    title: str
    applicant: str
    public_body: bool
    lead: str
    description: str
    created_at: datetime


def create_project(
    store: GovernanceStore,
    *,
    actor: Actor,
    project_id: str,
    title: str,
    applicant: str,
    lead: str,
    public_body: bool = False,
    description: str = "",
) -> ProjectInfo:
    """Register a project (controllers only). Its id is also its pseudonym space."""
    require(store, actor, Action.PROJECT_CREATE, f"project:{project_id}")
    if not _PROJECT_ID.match(project_id):
        raise UsageError(
            f"project id {project_id!r} is not valid",
            hint="up to 40 letters, digits, '.', '_' or '-'",
        )
    with store.transaction() as tx:
        if tx.get(ProjectRow, project_id) is not None:
            raise UsageError(f"project {project_id!r} already exists")
        lead_row = _user(tx, lead)
        row = ProjectRow(
            id=project_id,
            title=title,
            applicant=applicant,
            public_body=public_body,
            lead_id=lead_row.id,
            description=description,
            created_at=datetime.now(UTC),
        )
        tx.add(row)
        append(
            tx,
            store,
            actor=actor,
            action=Action.PROJECT_CREATE.value,
            target=f"project:{project_id}",
            details={"title": title, "applicant": applicant, "public_body": public_body},
        )
        return ProjectInfo(
            project_id, title, applicant, public_body, lead, description, row.created_at
        )


def _user(tx: Session, name: str) -> UserRow:
    row = tx.execute(select(UserRow).where(UserRow.name == name)).scalar_one_or_none()
    if row is None:
        raise UsageError(f"no user named {name!r}")
    return row


def list_projects(store: GovernanceStore, *, actor: Actor) -> list[ProjectInfo]:
    """Projects the actor may see: all for staff, their own for members."""
    require(store, actor, Action.PROJECT_READ, "projects")
    with store.transaction() as tx:
        rows = tx.execute(select(ProjectRow).order_by(ProjectRow.id)).scalars().all()
        mine = _member_projects(tx, actor) if actor.role in MEMBER_ROLES else None
        out = []
        for r in rows:
            if mine is not None and r.id not in mine:
                continue
            lead = tx.get(UserRow, r.lead_id)
            out.append(
                ProjectInfo(
                    r.id,
                    r.title,
                    r.applicant,
                    r.public_body,
                    lead.name if lead else "?",
                    r.description,
                    r.created_at,
                )
            )
        return out


def _member_projects(tx: Session, actor: Actor) -> set[str]:
    q = (
        select(PermitRow.project_id)
        .join(PermitMemberRow, PermitMemberRow.permit_id == PermitRow.id)
        .where(PermitMemberRow.user_id == actor.user_id)
    )
    return {str(p) for p in tx.execute(q).scalars().all()}


def grant_permit(
    store: GovernanceStore,
    *,
    actor: Actor,
    project_id: str,
    purpose: Purpose,
    form: DataForm,
    members: list[str],
    tables: list[TableScope],
    starts: date,
    expires: date,
    population: Population | None = None,
    policy: OutputPolicy | None = None,
    epsilon_budget: float | None = None,
) -> Permit:
    """Grant a permit (controllers only), after checking it against the rules."""
    require(store, actor, Action.PERMIT_GRANT, f"project:{project_id}")
    scope = validate_scope(tables)
    if expires < starts:
        raise PermitError(f"permit expires ({expires}) before it starts ({starts})")
    if not members:
        raise PermitError("a permit names at least one person (--member)")
    if epsilon_budget is not None and epsilon_budget <= 0:
        raise PermitError("a privacy budget must be positive")
    chosen = policy or OutputPolicy()
    if chosen.dp_epsilon is not None and epsilon_budget is None:
        raise PermitError("differentially private outputs need a privacy budget (--epsilon)")
    with store.transaction() as tx:
        project = tx.get(ProjectRow, project_id)
        if project is None:
            raise UsageError(f"no project {project_id!r}", hint="create it with bmb project create")
        if purpose.public_bodies_only and not project.public_body:
            raise PermitError(
                f"purpose {purpose.value} ({purpose.article}) is reserved to public-sector "
                f"bodies; the applicant of {project_id} is not one (EHDS Art. 53(2))"
            )
        member_rows = []
        for name in sorted(set(members)):
            row = _user(tx, name)
            if Role(row.role) not in MEMBER_ROLES:
                raise PermitError(
                    f"user {name} is a {row.role}; permits name researchers and planners"
                )
            if not row.active:
                raise PermitError(f"user {name} is disabled")
            member_rows.append(row)
        prow = PermitRow(
            project_id=project_id,
            purpose=purpose.value,
            form=form.value,
            tables_json=json.dumps([_scope_json(s) for s in scope]),
            population=population.to_text() if population else None,
            starts=starts,
            expires=expires,
            policy_json=json.dumps(chosen.to_dict(), sort_keys=True),
            epsilon_budget=epsilon_budget,
            granted_by=actor.user_id,
            granted_at=datetime.now(UTC),
        )
        tx.add(prow)
        tx.flush()
        for m in member_rows:
            tx.add(PermitMemberRow(permit_id=prow.id, user_id=m.id))
        tx.flush()
        permit = _permit(tx, prow)
        append(
            tx,
            store,
            actor=actor,
            action=Action.PERMIT_GRANT.value,
            target=f"permit:{prow.id}",
            details=permit_details(permit),
        )
        return permit


def _scope_json(scope: TableScope) -> dict[str, object]:
    return {
        "table": scope.table,
        "columns": sorted(scope.columns) if scope.columns is not None else None,
    }


def permit_details(permit: Permit) -> dict[str, object]:
    """A permit as the audit trail records it."""
    return {
        "project": permit.project_id,
        "purpose": permit.purpose.value,
        "form": permit.form.value,
        "members": sorted(permit.members),
        "tables": [_scope_json(s) for s in permit.tables],
        "population": permit.population.to_text() if permit.population else None,
        "starts": permit.starts.isoformat(),
        "expires": permit.expires.isoformat(),
        "policy": permit.policy.to_dict(),
        "epsilon_budget": permit.epsilon_budget,
    }


def revoke_permit(store: GovernanceStore, *, actor: Actor, permit_id: int, reason: str) -> None:
    """Revoke a permit now: no session opens under it and no output of it is released."""
    require(store, actor, Action.PERMIT_REVOKE, f"permit:{permit_id}")
    with store.transaction() as tx:
        row = tx.get(PermitRow, permit_id)
        if row is None:
            raise UsageError(f"no permit {permit_id}")
        if row.revoked_at is not None:
            raise UsageError(f"permit {permit_id} is already revoked")
        row.revoked_at = datetime.now(UTC)
        row.revoke_reason = reason
        append(
            tx,
            store,
            actor=actor,
            action=Action.PERMIT_REVOKE.value,
            target=f"permit:{permit_id}",
            details={"reason": reason},
        )


def load_permit(tx: Session, permit_id: int) -> Permit:
    row = tx.get(PermitRow, permit_id)
    if row is None:
        raise UsageError(f"no permit {permit_id}", hint="see 'bmb permit list'")
    return _permit(tx, row)


def _permit(tx: Session, row: PermitRow) -> Permit:
    names = tx.execute(
        select(UserRow.name)
        .join(PermitMemberRow, PermitMemberRow.user_id == UserRow.id)
        .where(PermitMemberRow.permit_id == row.id)
    ).scalars()
    tables = tuple(
        TableScope(t["table"], frozenset(t["columns"]) if t["columns"] is not None else None)
        for t in json.loads(row.tables_json)
    )
    revoked = row.revoked_at
    if revoked is not None and revoked.tzinfo is None:
        revoked = revoked.replace(tzinfo=UTC)
    return Permit(
        permit_id=row.id,
        project_id=row.project_id,
        purpose=Purpose(row.purpose),
        form=DataForm(row.form),
        members=frozenset(str(n) for n in names),
        tables=tables,
        starts=row.starts,
        expires=row.expires,
        population=Population.parse(row.population) if row.population else None,
        policy=OutputPolicy.from_dict(json.loads(row.policy_json)),
        epsilon_budget=row.epsilon_budget,
        revoked_at=revoked,
    )


def get_permit(store: GovernanceStore, *, actor: Actor, permit_id: int) -> Permit:
    """A permit, for staff or for the people it names."""
    with store.transaction() as tx:
        permit = load_permit(tx, permit_id)
    member = actor.name in permit.members
    if actor.role in MEMBER_ROLES and not member:
        refuse(store, actor, Action.PERMIT_READ, f"permit:{permit_id}", "not named in the permit")
    require(store, actor, Action.PERMIT_READ, f"permit:{permit_id}")
    return permit


def list_permits(
    store: GovernanceStore, *, actor: Actor, project_id: str | None = None
) -> list[Permit]:
    require(store, actor, Action.PERMIT_READ, "permits")
    with store.transaction() as tx:
        q = select(PermitRow).order_by(PermitRow.id)
        if project_id is not None:
            q = q.where(PermitRow.project_id == project_id)
        permits = [_permit(tx, r) for r in tx.execute(q).scalars().all()]
    if actor.role in MEMBER_ROLES:
        permits = [p for p in permits if actor.name in p.members]
    return permits


def all_permits(tx: Session) -> list[Permit]:
    """Every permit (for transparency and checks inside other actions)."""
    return [_permit(tx, r) for r in tx.execute(select(PermitRow).order_by(PermitRow.id)).scalars()]
