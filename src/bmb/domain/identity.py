"""Direct identifiers and the keyed pseudonyms that replace them.

The sources identify a person by a fiscal code (codice fiscale), or, for foreigners
without one, by an STP or ENI code or a European health card (TEAM) number. BMB turns
each into ``person_id``: the first 63 bits of HMAC-SHA-256 under the controller's key,
over the identifier's kind and its normalized text. The kind is part of the hashed
message so that an STP code and a fiscal code can never meet on one pseudonym.

These are pure functions on bytes and strings; where the key lives is the lake's
business (``bmb.lake.keys``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from enum import StrEnum

_ODD = {
    **dict(zip("0123456789", (1, 0, 5, 7, 9, 13, 15, 17, 19, 21), strict=True)),
    **dict(
        zip(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
            (
                1,
                0,
                5,
                7,
                9,
                13,
                15,
                17,
                19,
                21,
                2,
                4,
                18,
                20,
                11,
                3,
                6,
                8,
                12,
                14,
                16,
                10,
                22,
                25,
                24,
                23,
            ),
            strict=True,
        )
    ),
}
_EVEN = {
    **{str(d): d for d in range(10)},
    **{chr(ord("A") + i): i for i in range(26)},
}
# A fiscal code: surname(3) name(3) year(2) month(1) day(2) place(4) check(1). Digits may
# be replaced by letters L-V (omocodia) when two people would otherwise share a code.
_CF_RE = re.compile(
    r"^[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]$"
)
_STP_RE = re.compile(r"^STP\d{13}$")
_ENI_RE = re.compile(r"^ENI\d{13}$")
_TEAM_RE = re.compile(r"^\d{20}$")
_PROVISIONAL_RE = re.compile(r"^\d{11}$")

#: Value of an identifier used by the sources for "anonymous" or "not given".
ANONYMOUS = frozenset({"", "9999999999999999", "XXXXXXXXXXXXXXXX"})

_PERSON_ID_MASK = (1 << 63) - 1


class IdKind(StrEnum):
    """What kind of personal identifier a source carries."""

    CF = "CF"  # codice fiscale
    PROVISIONAL = "PCF"  # 11-digit provisional fiscal code
    STP = "STP"  # temporarily present foreigner
    ENI = "ENI"  # EU citizen not registered with the SSN
    TEAM = "TEAM"  # European health insurance card number
    FHIR = "FHIR"  # any other identifier, qualified by its FHIR system (see fhir_identifier)


def cf_check_char(first15: str) -> str:
    """The check character of a fiscal code from its first 15 characters."""
    total = 0
    for i, ch in enumerate(first15):
        total += _ODD[ch] if i % 2 == 0 else _EVEN[ch]
    return chr(ord("A") + total % 26)


@dataclass(frozen=True, slots=True)
class Identifier:
    """A normalized identifier and its kind."""

    kind: IdKind
    value: str


class InvalidIdentifierError(ValueError):
    """The text is not a valid identifier of any kind; ``reason`` says why."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def normalize(raw: str) -> Identifier:
    """Classify and normalize a source identifier, or raise :class:`InvalidIdentifierError`.

    Normalization upper-cases and removes blanks, which is how the same fiscal code
    written by two sources becomes one string. A fiscal code's check character is
    verified; a wrong one is the commonest typing error and must not split a person.
    """
    text = "".join(raw.split()).upper()
    if text in ANONYMOUS:
        raise InvalidIdentifierError("missing_identifier", "no patient identifier")
    if len(text) == 16 and text[:3] in ("STP", "ENI") and text[3:].isdigit():
        kind = IdKind.STP if text.startswith("STP") else IdKind.ENI
        return Identifier(kind, text)
    if len(text) == 16:
        if not _CF_RE.match(text):
            raise InvalidIdentifierError("invalid_fiscal_code", f"{text!r} is not a fiscal code")
        if cf_check_char(text[:15]) != text[15]:
            raise InvalidIdentifierError(
                "invalid_fiscal_code", f"check character of {text[:4]}... is wrong"
            )
        return Identifier(IdKind.CF, text)
    if _PROVISIONAL_RE.match(text):
        return Identifier(IdKind.PROVISIONAL, text)
    if _TEAM_RE.match(text):
        return Identifier(IdKind.TEAM, text)
    raise InvalidIdentifierError(
        "invalid_fiscal_code", f"identifier of length {len(text)} is not valid"
    )


def fhir_identifier(system: str, value: str) -> Identifier:
    """A non-Italian identifier from FHIR (social security number, record number, ...).

    The system is part of the hashed text (``system|value``) because a value alone
    means nothing across sources: record number 1234 of two hospitals are two people.
    FHIR values are case-sensitive, so only surrounding blanks are removed.
    """
    return Identifier(IdKind.FHIR, f"{system.strip()}|{value.strip()}")


def pseudonym(key: bytes, ident: Identifier, *, domain: str = "person") -> bytes:
    """HMAC-SHA-256 of the identifier under the key (32 bytes).

    ``domain`` separates pseudonym spaces (persons, providers) so that a doctor who is
    also a patient gets unrelated ids in the two roles.
    """
    message = f"{domain}:{ident.kind.value}:{ident.value}".encode()
    return hmac.new(key, message, hashlib.sha256).digest()


def id_from_pseudonym(digest: bytes) -> int:
    """The 63-bit positive integer id cut from a pseudonym (never 0)."""
    value = int.from_bytes(digest[:8], "big") & _PERSON_ID_MASK
    return value or 1


def person_id(key: bytes, raw: str) -> int:
    """``person_id`` for a raw source identifier (raises :class:`InvalidIdentifierError`)."""
    return id_from_pseudonym(pseudonym(key, normalize(raw)))


def key_fingerprint(key: bytes) -> str:
    """A public fingerprint of the key, stored in the lake to recognize its key.

    It is an HMAC of a fixed label, so it reveals nothing about the key, and a
    different key gives a different fingerprint.
    """
    return hmac.new(key, b"bmb-key-fingerprint-v1", hashlib.sha256).hexdigest()[:32]
