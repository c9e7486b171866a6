"""Authorization: the matrix first, then the object's own rule; refusals are audited.

Every action function calls :func:`require` before it changes anything. A refusal is
appended to the audit trail (in a transaction of its own, since the refused action
commits nothing) and raised as :class:`AccessDeniedError`, whose message names the rule
so the user knows what to ask for.
"""

from __future__ import annotations

from typing import NoReturn

from bmb.domain.governance.actors import Actor
from bmb.domain.governance.errors import AccessDeniedError
from bmb.domain.governance.roles import Action, allowed
from bmb.governance.audit import record_refusal
from bmb.governance.db import GovernanceStore


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
