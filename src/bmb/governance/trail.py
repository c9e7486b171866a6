"""Reading, verifying and signing the audit trail, and answering a citizen: the actions.

The audit module keeps the chain's mechanics; these are the user-facing actions on it,
each authorized by the matrix (auditors and controllers read and verify the trail,
controllers and auditors sign checkpoints, citizens ask about themselves and staff
about anyone) and each audited itself.
"""

from __future__ import annotations

from bmb.domain.governance.actors import Actor
from bmb.domain.governance.audit import AuditEntry
from bmb.domain.governance.roles import Action, Role
from bmb.governance.access import require
from bmb.governance.audit import VerifyReport, append, checkpoint, read_entries, verify
from bmb.governance.db import GovernanceStore
from bmb.governance.schema import CheckpointRow
from bmb.governance.signing import Signer


def verify_trail(store: GovernanceStore, *, actor: Actor, public_key: bytes | None) -> VerifyReport:
    require(store, actor, Action.AUDIT_VERIFY, "audit")
    report = verify(store, public_key=public_key)
    with store.transaction() as tx:
        append(
            tx,
            store,
            actor=actor,
            action=Action.AUDIT_VERIFY.value,
            target="audit",
            details={"ok": report.ok, "faults": len(report.faults), "head": report.head_seq},
        )
    return report


def read_trail(
    store: GovernanceStore,
    *,
    actor: Actor,
    action_prefix: str | None = None,
    actor_name: str | None = None,
    target: str | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    require(store, actor, Action.AUDIT_READ, "audit")
    return read_entries(
        store, action_prefix=action_prefix, actor=actor_name, target=target, limit=limit
    )


def sign_checkpoint(store: GovernanceStore, *, actor: Actor, signer: Signer) -> CheckpointRow:
    require(store, actor, Action.AUDIT_CHECKPOINT, "audit")
    return checkpoint(store, actor=actor, signer=signer)


def transparency_subject(store: GovernanceStore, *, actor: Actor, person_id: int | None) -> int:
    """Whose transparency page the actor may see: their own (citizens) or anyone's (staff).

    ``person_id`` is ``None`` for "my own". Returns the person to answer about, and
    audits the request (without naming the person when staff ask).
    """
    if person_id is None or (actor.role is Role.CITIZEN and person_id == actor.person_id):
        require(
            store,
            actor,
            Action.TRANSPARENCY_SELF,
            "person:self",
            rule=actor.person_id is not None,
            reason="the account is not linked to a person",
        )
        subject = actor.person_id
        target = "person:self"
    else:
        require(store, actor, Action.TRANSPARENCY_ANY, "person:[pseudonymized]")
        subject = person_id
        target = "person:[pseudonymized]"
    assert subject is not None
    with store.transaction() as tx:
        append(tx, store, actor=actor, action="transparency.read", target=target)
    return subject
