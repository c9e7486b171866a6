"""Pseudonymize: the distinct identifiers of a batch become keyed ids, in one pass.

Identifiers repeat (a person has many prescriptions), so only the distinct values are
hashed, in Python with the standard library's HMAC, and joined back in DuckDB. The
result also says why an identifier is invalid, which sends its records to quarantine.

The same residents come back in every batch (each month, each flow), so results are
memoized per key for the life of the process: a pure function of (key, identifier),
bounded so a whole region's run stays within its memory budget.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

import pyarrow as pa

from bmb.domain.identity import (
    InvalidIdentifierError,
    id_from_pseudonym,
    normalize,
    pseudonym,
)

#: Memoized results per (key, domain); cleared when it would exceed this many entries.
MEMO_LIMIT = 3_000_000
_PersonRow = tuple[int | None, str | None, str | None, str | None]
_person_memo: dict[bytes, dict[str, _PersonRow]] = {}
_provider_memo: dict[bytes, dict[str, int | None]] = {}


T = TypeVar("T")


def _memo_for(memos: dict[bytes, dict[str, T]], key: bytes) -> dict[str, T]:
    memo = memos.get(key)
    if memo is None or len(memo) > MEMO_LIMIT:
        memos.clear()  # one lake's key at a time is the common case
        memo = memos[key] = {}
    return memo


def _person_row(key: bytes, raw: str) -> _PersonRow:
    try:
        ident = normalize(raw)
    except InvalidIdentifierError as exc:
        return None, None, None, exc.reason
    d = pseudonym(key, ident)
    return id_from_pseudonym(d), ident.kind.value, d.hex(), None


def person_ids(key: bytes, raw_values: Iterable[str | None]) -> pa.Table:
    """A table raw -> person_id, id_kind, pseudonym (hex), reason (None when valid)."""
    memo = _memo_for(_person_memo, key)
    raws: list[str | None] = []
    pids: list[int | None] = []
    kinds: list[str | None] = []
    digests: list[str | None] = []
    reasons: list[str | None] = []
    for raw in raw_values:
        raws.append(raw)
        text = raw or ""
        row = memo.get(text)
        if row is None:
            row = memo[text] = _person_row(key, text)
        pids.append(row[0])
        kinds.append(row[1])
        digests.append(row[2])
        reasons.append(row[3])
    return pa.table(
        {
            "raw": pa.array(raws, pa.string()),
            "person_id": pa.array(pids, pa.int64()),
            "id_kind": pa.array(kinds, pa.string()),
            "pseudonym": pa.array(digests, pa.string()),
            "reason": pa.array(reasons, pa.string()),
        }
    )


def provider_ids(key: bytes, raw_values: Iterable[str | None]) -> pa.Table:
    """A table raw -> provider_id for doctors' fiscal codes (NULL when not valid).

    A doctor's invalid code does not reject the patient's record: it only leaves the
    provider unknown.
    """
    memo = _memo_for(_provider_memo, key)
    raws: list[str | None] = []
    ids: list[int | None] = []
    for raw in raw_values:
        raws.append(raw)
        text = raw or ""
        if text in memo:
            ids.append(memo[text])
            continue
        try:
            pid: int | None = id_from_pseudonym(pseudonym(key, normalize(text), domain="provider"))
        except InvalidIdentifierError:
            pid = None
        memo[text] = pid
        ids.append(pid)
    return pa.table({"raw": pa.array(raws, pa.string()), "provider_id": pa.array(ids, pa.int64())})
