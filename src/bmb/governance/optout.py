"""The opt-out registry: citizens' objection to secondary use (EHDS Art. 71).

The registry is a history of events per person (opted out, withdrawn), never edited:
the current state is the latest event, and the state at any past moment can be read
back, which is what the transparency page needs. It stores lake ``person_id``s only;
a fiscal code given at a desk is turned into one with the lake's key by the caller and
never stored.

Engine sessions read :meth:`OptOutRegistry.opted_out` before every query, so an
opt-out takes effect from the next query of every session, open or not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bmb.domain.errors import UsageError
from bmb.domain.governance.actors import Actor
from bmb.domain.governance.roles import Action, Role
from bmb.governance.access import require
from bmb.governance.audit import append
from bmb.governance.db import GovernanceStore
from bmb.governance.schema import OptOutRow

CHANNELS = ("self", "desk", "mail", "service")


@dataclass(frozen=True)
class OptOutEvent:
    person_id: int
    opted_out: bool
    at: datetime
    by_user: str
    channel: str
    note: str


def _target(actor: Actor, person_id: int | None) -> tuple[int, Action]:
    """Whose opt-out, and under which action: one's own (citizen) or on behalf (staff)."""
    if actor.role is Role.CITIZEN:
        if person_id is not None and person_id != actor.person_id:
            return person_id, Action.OPTOUT_REGISTER  # a citizen acting for someone else
        if actor.person_id is None:
            raise UsageError("this citizen account is not linked to a person")
        return actor.person_id, Action.OPTOUT_SELF
    if person_id is None:  # staff have no "own" opt-out: the matrix refuses it
        return 0, Action.OPTOUT_SELF
    return person_id, Action.OPTOUT_REGISTER


def set_opt_out(
    store: GovernanceStore,
    *,
    actor: Actor,
    person_id: int | None,
    opted_out: bool,
    channel: str = "desk",
    note: str = "",
) -> OptOutEvent:
    """Record an opt-out (``opted_out=True``) or its withdrawal, for oneself or on behalf."""
    pid, action = _target(actor, person_id)
    require(store, actor, action, "person:[pseudonymized]")
    if channel not in CHANNELS:
        raise UsageError(f"unknown channel {channel!r}: use one of {', '.join(CHANNELS)}")
    with store.transaction() as tx:
        current = _current(tx, pid)
        if current is not None and current == opted_out:
            state = "opted out" if opted_out else "not opted out"
            raise UsageError(f"this person is already {state}")
        if current is None and not opted_out:
            raise UsageError("this person has never opted out")
        row = OptOutRow(
            person_id=pid,
            opted_out=opted_out,
            at=datetime.now(UTC),
            by_user=actor.label,
            channel="self" if actor.role is Role.CITIZEN else channel,
            note=note,
        )
        tx.add(row)
        tx.flush()
        # the audit names the registry event, not the person: the trail is read by
        # auditors who need to see that it happened, not whom it concerns
        append(
            tx,
            store,
            actor=actor,
            action="optout.register" if opted_out else "optout.withdraw",
            target=f"optout-event:{row.id}",
            details={"channel": row.channel},
        )
        return OptOutEvent(pid, opted_out, row.at, row.by_user, row.channel, note)


def _current(tx: Session, person_id: int) -> bool | None:
    row = tx.execute(
        select(OptOutRow)
        .where(OptOutRow.person_id == person_id)
        .order_by(OptOutRow.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    return None if row is None else bool(row.opted_out)


def history(store: GovernanceStore, *, actor: Actor, person_id: int | None) -> list[OptOutEvent]:
    """A person's opt-out events, oldest first (their own, for a citizen)."""
    pid, action = _target(actor, person_id)
    read = Action.OPTOUT_SELF if action is Action.OPTOUT_SELF else Action.OPTOUT_READ
    require(store, actor, read, "person:[pseudonymized]")
    return person_history(store, pid)


def person_history(store: GovernanceStore, person_id: int) -> list[OptOutEvent]:
    with store.transaction() as tx:
        rows = tx.execute(
            select(OptOutRow).where(OptOutRow.person_id == person_id).order_by(OptOutRow.id)
        ).scalars()
        return [
            OptOutEvent(r.person_id, r.opted_out, r.at, r.by_user, r.channel, r.note) for r in rows
        ]


class OptOutRegistry:
    """The set of persons opted out now, as engine sessions read it (``OptOutSource``)."""

    def __init__(self, store: GovernanceStore) -> None:
        self.store = store

    def opted_out(self) -> frozenset[int]:
        with self.store.transaction() as tx:
            latest = (
                select(OptOutRow.person_id, func.max(OptOutRow.id).label("last"))
                .group_by(OptOutRow.person_id)
                .subquery()
            )
            rows = tx.execute(
                select(OptOutRow.person_id)
                .join(latest, OptOutRow.id == latest.c.last)
                .where(OptOutRow.opted_out.is_(True))
            ).scalars()
            return frozenset(int(r) for r in rows)
