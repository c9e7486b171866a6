"""Engine sessions as the governance store sees them: opened under a permit, audited.

Opening a session is where the permit is enforced for a person: named in the permit,
permit active today, role allowed. The session row records the lake snapshot it reads,
which is how the transparency page later knows whose data a project could see. Every
query of the session is audited with its SQL text.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import select

from bmb.domain.governance.actors import Actor
from bmb.domain.governance.errors import PermitError
from bmb.domain.governance.permits import Permit
from bmb.domain.governance.roles import Action
from bmb.governance.access import refuse, require
from bmb.governance.audit import append
from bmb.governance.db import GovernanceStore
from bmb.governance.permits import load_permit
from bmb.governance.schema import SessionRow, UserRow


@dataclass(frozen=True)
class SessionGrant:
    """A session the store allowed: its id and the permit it runs under."""

    session_id: int
    permit: Permit
    actor: Actor


def open_session(
    store: GovernanceStore,
    *,
    actor: Actor,
    permit_id: int,
    lake_snapshot_id: int,
    today: date | None = None,
) -> SessionGrant:
    """Allow (and record) a session of ``actor`` under permit ``permit_id``."""
    target = f"permit:{permit_id}"
    with store.transaction() as tx:
        permit = load_permit(tx, permit_id)
    require(
        store,
        actor,
        Action.SESSION_OPEN,
        target,
        rule=actor.name in permit.members,
        reason="not named in the permit",
    )
    try:
        permit.require_active(today or datetime.now(UTC).date())
    except PermitError as exc:
        refuse(store, actor, Action.SESSION_OPEN, target, str(exc))
    with store.transaction() as tx:
        row = SessionRow(
            permit_id=permit_id,
            user_id=actor.user_id,
            lake_snapshot_id=lake_snapshot_id,
            opened_at=datetime.now(UTC),
            queries=0,
        )
        tx.add(row)
        tx.flush()
        append(
            tx,
            store,
            actor=actor,
            action=Action.SESSION_OPEN.value,
            target=f"session:{row.id}",
            details={
                "permit": permit_id,
                "project": permit.project_id,
                "lake_snapshot_id": lake_snapshot_id,
            },
        )
        return SessionGrant(row.id, permit, actor)


def record_query(
    store: GovernanceStore, *, actor: Actor, session_id: int, sql: str, rows: int, ok: bool = True
) -> None:
    """Audit one query of a session (its text, its size), refused ones included."""
    from bmb.domain.governance.audit import Outcome

    with store.transaction() as tx:
        row = tx.get(SessionRow, session_id)
        if row is not None:
            row.queries += 1
        append(
            tx,
            store,
            actor=actor,
            action="session.query",
            target=f"session:{session_id}",
            outcome=Outcome.OK if ok else Outcome.REFUSED,
            details={
                "sql": sql,
                "sql_sha256": hashlib.sha256(sql.encode()).hexdigest(),
                "rows": rows,
            },
        )


def close_session(store: GovernanceStore, *, actor: Actor, session_id: int) -> None:
    with store.transaction() as tx:
        row = tx.get(SessionRow, session_id)
        if row is None or row.closed_at is not None:
            return
        row.closed_at = datetime.now(UTC)
        append(
            tx,
            store,
            actor=actor,
            action="session.close",
            target=f"session:{session_id}",
            details={"queries": row.queries},
        )


@dataclass(frozen=True)
class SessionRecord:
    session_id: int
    permit_id: int
    user: str
    lake_snapshot_id: int
    opened_at: datetime


def sessions_of(store: GovernanceStore, permit_id: int) -> list[SessionRecord]:
    with store.transaction() as tx:
        rows = tx.execute(
            select(SessionRow, UserRow.name)
            .join(UserRow, UserRow.id == SessionRow.user_id)
            .where(SessionRow.permit_id == permit_id)
            .order_by(SessionRow.id)
        ).all()
        return [
            SessionRecord(s.id, s.permit_id, str(name), s.lake_snapshot_id, s.opened_at)
            for s, name in rows
        ]
