"""The audit trail's hash chain: how an entry is hashed and how a chain is verified.

Each entry's hash is SHA-256 over the previous entry's hash and the entry's canonical
form (its sequence number, time, actor, action, target, outcome and details as JSON
with sorted keys and no spaces). Changing an entry changes its hash; removing or
reordering entries breaks the sequence or the link to the previous hash; so
:func:`verify_chain` finds any change but the removal of the newest entries, which the
signed checkpoints catch (a checkpoint records the sequence number and hash of the
head it signed, so a chain that no longer reaches it, or reaches it with another hash,
fails verification).

Pure functions: the store keeps the entries, the governance package signs checkpoints.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

#: The "previous hash" of the first entry.
GENESIS = "0" * 64
#: Version of the entry format, hashed into every entry.
FORMAT = "bmb-audit-v1"


class Outcome(StrEnum):
    OK = "ok"
    REFUSED = "refused"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audited event. ``at`` is an ISO-8601 UTC timestamp with microseconds."""

    seq: int
    at: str
    actor: str
    action: str
    target: str
    outcome: Outcome
    details: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def canonical(self) -> bytes:
        """The bytes that are hashed: stable across Python versions and databases."""
        body = {
            "format": FORMAT,
            "seq": self.seq,
            "at": self.at,
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "outcome": self.outcome.value,
            "details": dict(self.details),
        }
        return canonical_json(body).encode("utf-8")


def canonical_json(value: Any) -> str:
    """JSON with sorted keys, no spaces, ASCII only: one text per value."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    )


def entry_hash(prev_hash: str, entry: AuditEntry) -> str:
    """The chain hash of ``entry`` following an entry whose hash is ``prev_hash``."""
    h = hashlib.sha256()
    h.update(prev_hash.encode("ascii"))
    h.update(b"\n")
    h.update(entry.canonical())
    return h.hexdigest()


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """An entry as the store returns it: with the hashes it was written with."""

    entry: AuditEntry
    prev_hash: str
    hash: str


class FaultKind(StrEnum):
    CHANGED = "changed"  # the entry's content no longer matches its hash
    BROKEN_LINK = "broken_link"  # prev_hash is not the previous entry's hash
    GAP = "gap"  # sequence numbers skip: entries removed
    OUT_OF_ORDER = "out_of_order"  # sequence numbers go back or repeat
    CHECKPOINT = "checkpoint"  # a signed checkpoint disagrees with the chain


@dataclass(frozen=True, slots=True)
class ChainFault:
    seq: int
    kind: FaultKind
    detail: str


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A signed statement: "the chain's entry ``seq`` has hash ``head_hash``"."""

    seq: int
    head_hash: str
    at: str
    lake_id: str
    signature: bytes
    public_key: bytes

    def message(self) -> bytes:
        return checkpoint_message(self.seq, self.head_hash, self.at, self.lake_id)


def checkpoint_message(seq: int, head_hash: str, at: str, lake_id: str) -> bytes:
    """What a checkpoint signs."""
    body = {"format": FORMAT, "seq": seq, "head": head_hash, "at": at, "lake": lake_id}
    return canonical_json(body).encode("utf-8")


def verify_chain(entries: Iterable[StoredEntry]) -> tuple[list[ChainFault], dict[int, str]]:
    """Walk the chain in stored order; return its faults and each entry's recomputed hash.

    Verification recomputes every hash from the previous *recomputed* hash, so one
    changed entry is reported once, where it was changed, and entries after it are
    still checked against their own stored links.
    """
    faults: list[ChainFault] = []
    hashes: dict[int, str] = {}
    prev_seq = 0
    prev_stored = GENESIS
    for stored in entries:
        e = stored.entry
        if e.seq <= prev_seq:
            faults.append(
                ChainFault(e.seq, FaultKind.OUT_OF_ORDER, f"entry {e.seq} after {prev_seq}")
            )
        elif e.seq != prev_seq + 1:
            faults.append(
                ChainFault(e.seq, FaultKind.GAP, f"entries {prev_seq + 1}..{e.seq - 1} are missing")
            )
        if stored.prev_hash != prev_stored:
            faults.append(
                ChainFault(e.seq, FaultKind.BROKEN_LINK, "does not follow the previous entry")
            )
        recomputed = entry_hash(stored.prev_hash, e)
        if recomputed != stored.hash:
            faults.append(ChainFault(e.seq, FaultKind.CHANGED, "content does not match its hash"))
        hashes[e.seq] = stored.hash
        prev_seq = max(prev_seq, e.seq)
        prev_stored = stored.hash
    return faults, hashes
