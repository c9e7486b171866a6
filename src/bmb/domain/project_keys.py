"""Per-project keys and pseudonyms, derived from the controller's master key.

Every project sees persons under pseudonyms of its own, so that two projects' extracts
cannot be joined on ``person_id`` (DESIGN.md, identity). A project's key is derived
from the master key with HKDF-SHA-256 (RFC 5869): the master key never leaves the
controller, a project key reveals nothing about it or about any other project's key,
and nothing needs storing, because the same project id always derives the same key.

A project pseudonym is the 63-bit cut of HMAC-SHA-256 under the project key over the
identifier's kind and value (``person:123``), the same construction as ``person_id``
itself, so the two spaces look alike and are equally hard to invert. The inner and
outer HMAC pads are exposed so that an engine can compute the identical pseudonym in
SQL (``sha256`` over byte strings) without a per-row round trip to Python.
"""

from __future__ import annotations

import hashlib
import hmac

from bmb.domain.identity import id_from_pseudonym

_HASH_LEN = 32
_BLOCK = 64
#: HKDF salt: a fixed, public label that versions the derivation.
PROJECT_SALT = b"bmb-project-pseudonym-v1"


def hkdf_extract(salt: bytes, ikm: bytes) -> bytes:
    """HKDF-Extract (RFC 5869, 2.2) with SHA-256; an empty salt means HashLen zeros."""
    return hmac.new(salt or bytes(_HASH_LEN), ikm, hashlib.sha256).digest()


def hkdf_expand(prk: bytes, info: bytes, length: int) -> bytes:
    """HKDF-Expand (RFC 5869, 2.3) with SHA-256."""
    if not 0 < length <= 255 * _HASH_LEN:
        raise ValueError(f"HKDF output length {length} is out of range")
    out = b""
    block = b""
    counter = 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


def hkdf(ikm: bytes, *, salt: bytes, info: bytes, length: int = _HASH_LEN) -> bytes:
    """HKDF-SHA-256: extract then expand."""
    return hkdf_expand(hkdf_extract(salt, ikm), info, length)


def project_key(master_key: bytes, project_id: str) -> bytes:
    """The 32-byte key of one project, derived from the master key.

    ``project_id`` is the info string; a project keeps its id for life, so its
    pseudonyms stay stable across sessions and extracts of that project.
    """
    if not project_id:
        raise ValueError("a project key needs a project id")
    return hkdf(master_key, salt=PROJECT_SALT, info=f"project:{project_id}".encode())


def project_pseudonym(key: bytes, value: int, *, kind: str = "person") -> int:
    """The project's pseudonym of a lake id (a ``person_id``, a ``visit_occurrence_id``)."""
    digest = hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).digest()
    return id_from_pseudonym(digest)


def hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """HMAC's inner and outer padded keys (RFC 2104), for computing HMAC in SQL.

    HMAC(K, m) = H(opad || H(ipad || m)). A SQL engine with ``sha256`` over byte
    strings computes it from these two 64-byte values.
    """
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    padded = key.ljust(_BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in padded), bytes(b ^ 0x5C for b in padded)
