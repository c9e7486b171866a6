"""Pseudonymize: the distinct identifiers of a batch become keyed ids, in one pass.

Identifiers repeat (a person has many prescriptions), so only the distinct values are
hashed, in Python with the standard library's HMAC, and joined back in DuckDB. The
result also says why an identifier is invalid, which sends its records to quarantine.

The same residents come back in every batch (each month, each flow), so results are
memoized per key for the life of the process: a pure function of (key, identifier),
bounded so a whole region's run stays within its memory budget.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bmb.domain.identity import (
    IdKind,
    InvalidIdentifierError,
    id_from_pseudonym,
    normalize,
    pseudonym,
)

#: Memoized identifiers per key; the memo is emptied when it would exceed this many.
MEMO_LIMIT = 3_000_000


class _PersonMemo:
    """Raw identifier -> (person_id, kind, keyed hash), compactly.

    A whole region's residents (1.5 million) come back in every batch. Tuples of Python
    strings would take about 570 MB; an index into packed arrays takes about half.
    Invalid identifiers map to a negative number naming their reason.
    """

    def __init__(self, key: bytes) -> None:
        self.key = key
        self.index: dict[str, int] = {}
        self.pids = array("q")
        self.kinds = bytearray()
        self.digests = bytearray()
        self.reasons: list[str] = []

    def lookup(self, raw: str) -> int:
        i = self.index.get(raw)
        if i is not None:
            return i
        try:
            ident = normalize(raw)
        except InvalidIdentifierError as exc:
            if exc.reason not in self.reasons:
                self.reasons.append(exc.reason)
            i = -1 - self.reasons.index(exc.reason)
        else:
            d = pseudonym(self.key, ident)
            i = len(self.pids)
            self.pids.append(id_from_pseudonym(d))
            self.kinds.append(_KINDS.index(ident.kind.value))
            self.digests += d
        self.index[raw] = i
        return i


_KINDS = tuple(k.value for k in IdKind)
_person_memo: dict[bytes, _PersonMemo] = {}
_provider_memo: dict[bytes, dict[str, int | None]] = {}


def _person_memo_for(key: bytes) -> _PersonMemo:
    memo = _person_memo.get(key)
    if memo is None or len(memo.index) > MEMO_LIMIT:
        _person_memo.clear()  # one lake's key at a time is the common case
        memo = _person_memo[key] = _PersonMemo(key)
    return memo


def _provider_memo_for(key: bytes) -> dict[str, int | None]:
    memo = _provider_memo.get(key)
    if memo is None or len(memo) > MEMO_LIMIT:
        _provider_memo.clear()
        memo = _provider_memo[key] = {}
    return memo


def person_ids(key: bytes, raw_values: Iterable[str | None]) -> pa.Table:
    """A table raw -> person_id, id_kind, pseudonym (hex), reason (None when valid)."""
    memo = _person_memo_for(key)
    raws = list(raw_values)
    idx = np.fromiter((memo.lookup(r or "") for r in raws), dtype=np.int64, count=len(raws))
    valid = idx >= 0
    at = np.where(valid, idx, 0)
    n_known = len(memo.pids)
    pids = np.frombuffer(memo.pids, dtype=np.int64) if n_known else np.zeros(1, np.int64)
    kinds = np.frombuffer(memo.kinds, dtype=np.uint8) if n_known else np.zeros(1, np.uint8)
    digests = (
        np.frombuffer(memo.digests, dtype=np.uint8).reshape(-1, 32)
        if n_known
        else np.zeros((1, 32), np.uint8)
    )
    kind_names = np.array(_KINDS, dtype=object)
    reason_names = np.array([None, *memo.reasons], dtype=object)
    invalid = pa.array(~valid)
    return pa.table(
        {
            "raw": pa.array(raws, pa.string()),
            "person_id": pa.array(pids[at], pa.int64(), mask=~valid),
            "id_kind": pa.array(kind_names[kinds[at]], pa.string(), mask=~valid),
            "pseudonym": pc.if_else(invalid, pa.scalar(None, pa.string()), _hex(digests[at])),
            "reason": pa.array(reason_names[np.where(valid, 0, -idx)], pa.string()),
        }
    )


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def _hex(digests: np.ndarray) -> pa.Array:
    """Lower-case hex of each 32-byte row, as one Arrow string array (vectorized)."""
    n = len(digests)
    out = np.empty((n, 64), dtype=np.uint8)
    out[:, 0::2] = _HEX[digests >> 4]
    out[:, 1::2] = _HEX[digests & 15]
    offsets = np.arange(0, 64 * (n + 1), 64, dtype=np.int32)
    return pa.Array.from_buffers(
        pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(out.tobytes())]
    )


def provider_ids(key: bytes, raw_values: Iterable[str | None]) -> pa.Table:
    """A table raw -> provider_id for doctors' fiscal codes (NULL when not valid).

    A doctor's invalid code does not reject the patient's record: it only leaves the
    provider unknown.
    """
    memo = _provider_memo_for(key)
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
