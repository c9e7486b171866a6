"""Authorization: the matrix first, then the object's own rule; refusals are audited.

Every action function calls :func:`require` before it changes anything. A refusal is
appended to the audit trail (in a transaction of its own, since the refused action
commits nothing) and raised as :class:`AccessDeniedError`, whose message names the rule
so the user knows what to ask for.
"""

from __future__ import annotations

from typing import NoReturn

from sqlalchemy import func, select

from bmb.domain.governance.actors import Actor
from bmb.domain.governance.errors import AccessDeniedError
from bmb.domain.governance.roles import Action, allowed
from bmb.governance.audit import record_refusal
from bmb.governance.db import GovernanceStore
from bmb.governance.schema import UserRow

#: What the operating-system account may do on a lake that has no BMB users yet (an
#: ungoverned lake, as ``bmb ingest`` and ``bmb sql`` treat it): read and verify the trail.
#: Everything else needs a user, so the first governed act is creating one.
UNGOVERNED_ACTIONS = frozenset({Action.AUDIT_VERIFY, Action.AUDIT_READ})


def require(
    store: GovernanceStore,
    actor: Actor,
    action: Action,
    target: str,
    *,
    rule: bool = True,
    reason: str = "",
) -> None:
    """Refuse (and audit) unless the actor's role may do ``action`` and ``rule`` holds."""
    if actor.role is None:
        if action in UNGOVERNED_ACTIONS and user_count(store) == 0:
            return
        refuse(store, actor, action, target, "an authenticated user is required (see bmb user)")
    if not allowed(actor.role, action):
        refuse(store, actor, action, target, f"role {actor.role.value} may not {action.value}")
    if not rule:
        refuse(store, actor, action, target, reason or "not allowed on this object")


def refuse(
    store: GovernanceStore, actor: Actor, action: Action, target: str, reason: str
) -> NoReturn:
    record_refusal(store, actor=actor, action=action.value, target=target, reason=reason)
    raise AccessDeniedError(f"{actor.name} may not {action.value} {target}: {reason}")


def user_count(store: GovernanceStore) -> int:
    """How many BMB users the store has; none means the lake is not governed yet."""
    with store.transaction() as tx:
        return int(tx.execute(select(func.count()).select_from(UserRow)).scalar_one())
