"""The audit trail: appending events to the hash chain, checkpoints, verification.

Every action appends its event inside its own transaction (:func:`append`), so the
event exists exactly when the action's effect does. A refused attempt has no effect
but is audited all the same, in a transaction of its own (:func:`record_refusal`).
Checkpoints sign the chain's head with the controller's Ed25519 key: periodically
(every ``checkpoint_every`` events, when the store was opened with a signer) and on
demand (``bmb audit checkpoint``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bmb.domain.governance.actors import Actor
from bmb.domain.governance.audit import (
    GENESIS,
    AuditEntry,
    ChainFault,
    FaultKind,
    Outcome,
    StoredEntry,
    canonical_json,
    checkpoint_message,
    entry_hash,
    verify_chain,
)
from bmb.governance.db import GovernanceStore
from bmb.governance.schema import AuditHeadRow, AuditRow, CheckpointRow
from bmb.governance.signing import Signer, verify_signature


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def append(
    tx: Session,
    store: GovernanceStore,
    *,
    actor: Actor,
    action: str,
    target: str,
    outcome: Outcome = Outcome.OK,
    details: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Append one event to the chain inside the caller's transaction."""
    head = tx.execute(
        select(AuditHeadRow).where(AuditHeadRow.id == 1).with_for_update()
    ).scalar_one()
    clean = json.loads(canonical_json(dict(details or {})))  # only JSON values, normalized
    entry = AuditEntry(
        seq=head.seq + 1,
        at=now_iso(),
        actor=actor.label,
        action=action,
        target=target,
        outcome=outcome,
        details=clean,
    )
    digest = entry_hash(head.hash, entry)
    tx.add(
        AuditRow(
            seq=entry.seq,
            at=entry.at,
            actor=entry.actor,
            action=entry.action,
            target=entry.target,
            outcome=entry.outcome.value,
            details=canonical_json(clean),
            prev_hash=head.hash,
            hash=digest,
        )
    )
    head.seq = entry.seq
    head.hash = digest
    tx.flush()
    if (
        store.signer is not None
        and store.checkpoint_every
        and entry.seq % store.checkpoint_every == 0
    ):
        _sign_head(tx, store, store.signer, entry.seq, digest)
    return entry


def record_refusal(
    store: GovernanceStore, *, actor: Actor, action: str, target: str, reason: str
) -> None:
    """Audit a refused attempt (its own transaction: the attempt itself changed nothing)."""
    with store.transaction() as tx:
        append(
            tx,
            store,
            actor=actor,
            action=action,
            target=target,
            outcome=Outcome.REFUSED,
            details={"reason": reason},
        )


def _sign_head(
    tx: Session, store: GovernanceStore, signer: Signer, seq: int, digest: str
) -> CheckpointRow:
    at = now_iso()
    row = CheckpointRow(
        seq=seq,
        head_hash=digest,
        at=at,
        lake_id=store.lake_id,
        signature=signer.sign(checkpoint_message(seq, digest, at, store.lake_id)),
        public_key=signer.public_bytes,
    )
    tx.add(row)
    tx.flush()
    return row


def checkpoint(store: GovernanceStore, *, actor: Actor, signer: Signer) -> CheckpointRow:
    """Sign the chain's current head now, and audit that it was signed."""
    with store.transaction() as tx:
        head = tx.execute(
            select(AuditHeadRow).where(AuditHeadRow.id == 1).with_for_update()
        ).scalar_one()
        row = _sign_head(tx, store, signer, head.seq, head.hash)
        append(
            tx,
            store,
            actor=actor,
            action="audit.checkpoint",
            target=f"seq:{row.seq}",
            details={"head_hash": row.head_hash, "public_key": signer.public_bytes.hex()},
        )
        return row


def stored_entries(tx: Session, *, batch: int = 5000) -> Iterator[StoredEntry]:
    """Every entry in sequence order, read in batches."""
    last = 0
    while True:
        rows = (
            tx.execute(
                select(AuditRow).where(AuditRow.seq > last).order_by(AuditRow.seq).limit(batch)
            )
            .scalars()
            .all()
        )
        if not rows:
            return
        for r in rows:
            yield StoredEntry(row_entry(r), r.prev_hash, r.hash)
        last = rows[-1].seq


def row_entry(r: AuditRow) -> AuditEntry:
    try:
        details = json.loads(r.details)
    except ValueError:
        details = {"unreadable": r.details}
    try:
        outcome = Outcome(r.outcome)
    except ValueError:
        outcome = Outcome.FAILED
    return AuditEntry(r.seq, r.at, r.actor, r.action, r.target, outcome, details)


@dataclass(frozen=True)
class VerifyReport:
    """What ``bmb audit verify`` found."""

    entries: int
    head_seq: int
    checkpoints: int
    checkpoints_verified: int
    faults: tuple[ChainFault, ...]
    trusted_key: bool

    @property
    def ok(self) -> bool:
        return not self.faults

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "head_seq": self.head_seq,
            "checkpoints": self.checkpoints,
            "checkpoints_verified": self.checkpoints_verified,
            "trusted_key": self.trusted_key,
            "faults": [
                {"seq": f.seq, "kind": f.kind.value, "detail": f.detail} for f in self.faults
            ],
        }


def verify(store: GovernanceStore, *, public_key: bytes | None) -> VerifyReport:
    """Recompute the chain and check every checkpoint against it.

    ``public_key`` is the trusted checkpoint key (from outside the store). Without it,
    checkpoints are checked against the key they carry, which proves nothing against
    someone who can write the store; the report says so (``trusted_key``).
    """
    with store.transaction() as tx:
        faults, hashes = verify_chain(stored_entries(tx))
        faults = list(faults)
        head = tx.execute(select(AuditHeadRow).where(AuditHeadRow.id == 1)).scalar_one()
        count = tx.execute(select(func.count()).select_from(AuditRow)).scalar_one()
        last_seq = max(hashes) if hashes else 0
        last_hash = hashes[last_seq] if hashes else GENESIS
        if head.seq != last_seq or head.hash != last_hash:
            faults.append(
                ChainFault(
                    head.seq,
                    FaultKind.GAP,
                    f"the chain's head says entry {head.seq} but the last entry is {last_seq}",
                )
            )
        cps = tx.execute(select(CheckpointRow).order_by(CheckpointRow.seq)).scalars().all()
        verified = 0
        for cp in cps:
            key = public_key if public_key is not None else cp.public_key
            if public_key is not None and cp.public_key != public_key:
                faults.append(
                    ChainFault(cp.seq, FaultKind.CHECKPOINT, "signed with an untrusted key")
                )
                continue
            message = checkpoint_message(cp.seq, cp.head_hash, cp.at, cp.lake_id)
            if cp.lake_id != store.lake_id or not verify_signature(key, cp.signature, message):
                faults.append(ChainFault(cp.seq, FaultKind.CHECKPOINT, "bad signature"))
                continue
            if cp.seq == 0:
                verified += 1
                continue
            if cp.seq not in hashes:
                faults.append(
                    ChainFault(
                        cp.seq,
                        FaultKind.CHECKPOINT,
                        f"the signed entry {cp.seq} is no longer in the chain (truncated?)",
                    )
                )
                continue
            if hashes[cp.seq] != cp.head_hash:
                faults.append(
                    ChainFault(
                        cp.seq,
                        FaultKind.CHECKPOINT,
                        "the chain up to this signed entry was rewritten",
                    )
                )
                continue
            verified += 1
    return VerifyReport(
        entries=int(count),
        head_seq=int(head.seq),
        checkpoints=len(cps),
        checkpoints_verified=verified,
        faults=tuple(sorted(faults, key=lambda f: (f.seq, f.kind.value))),
        trusted_key=public_key is not None,
    )


def read_entries(
    store: GovernanceStore,
    *,
    action_prefix: str | None = None,
    actor: str | None = None,
    target: str | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    """The newest entries (up to ``limit``), newest last, optionally filtered."""
    with store.transaction() as tx:
        q = select(AuditRow)
        if action_prefix:
            q = q.where(AuditRow.action.startswith(action_prefix))
        if actor:
            q = q.where(AuditRow.actor.startswith(actor))
        if target:
            q = q.where(AuditRow.target == target)
        rows = tx.execute(q.order_by(AuditRow.seq.desc()).limit(limit)).scalars().all()
        return [row_entry(r) for r in reversed(rows)]
