"""Pseudonymize: the distinct identifiers of a batch become keyed ids, in one pass.

Identifiers repeat (a person has many prescriptions), so only the distinct values are
hashed, in Python with the standard library's HMAC, and joined back in DuckDB. The
result also says why an identifier is invalid, which sends its records to quarantine.
"""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa

from bmb.domain.identity import (
    InvalidIdentifierError,
    id_from_pseudonym,
    normalize,
    pseudonym,
)


def person_ids(key: bytes, raw_values: Iterable[str | None]) -> pa.Table:
    """A table raw -> person_id, id_kind, pseudonym (hex), reason (None when valid)."""
    raws: list[str | None] = []
    pids: list[int | None] = []
    kinds: list[str | None] = []
    digests: list[str | None] = []
    reasons: list[str | None] = []
    for raw in raw_values:
        raws.append(raw)
        try:
            ident = normalize(raw or "")
        except InvalidIdentifierError as exc:
            pids.append(None)
            kinds.append(None)
            digests.append(None)
            reasons.append(exc.reason)
            continue
        d = pseudonym(key, ident)
        pids.append(id_from_pseudonym(d))
        kinds.append(ident.kind.value)
        digests.append(d.hex())
        reasons.append(None)
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
    raws: list[str | None] = []
    ids: list[int | None] = []
    for raw in raw_values:
        raws.append(raw)
        try:
            ident = normalize(raw or "")
        except InvalidIdentifierError:
            ids.append(None)
            continue
        ids.append(id_from_pseudonym(pseudonym(key, ident, domain="provider")))
    return pa.table({"raw": pa.array(raws, pa.string()), "provider_id": pa.array(ids, pa.int64())})
