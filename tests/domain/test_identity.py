"""Fiscal codes, STP/ENI codes and the keyed pseudonyms that replace them."""

from __future__ import annotations

import random

import pytest
from codicefiscale import codicefiscale

from bmb.domain.identity import (
    IdKind,
    InvalidIdentifierError,
    cf_check_char,
    id_from_pseudonym,
    key_fingerprint,
    normalize,
    person_id,
    pseudonym,
)

KEY = bytes(range(32))


def _random_cf(rng: random.Random) -> str:
    code: str = codicefiscale.encode(
        lastname=rng.choice(["Rossi", "Bianchi", "Xu", "De Luca", "Ferrari"]),
        firstname=rng.choice(["Anna", "Luca", "Bo", "Maria Grazia"]),
        gender=rng.choice("MF"),
        birthdate=f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{rng.randint(1920, 2024)}",
        birthplace=rng.choice(["D969", "I480", "E463", "H183"]),
    )
    return code


def test_normalize_accepts_library_fiscal_codes_and_their_omocodes() -> None:
    rng = random.Random(1)
    for _ in range(200):
        code = _random_cf(rng)
        assert normalize(code).kind is IdKind.CF
        for omocode in codicefiscale.decode(code)["omocodes"]:
            assert normalize(omocode).kind is IdKind.CF


def test_normalize_is_blank_and_case_insensitive() -> None:
    code = _random_cf(random.Random(2))
    assert normalize(" " + code.lower()[:8] + " " + code.lower()[8:]).value == code


def test_wrong_check_character_is_rejected() -> None:
    code = _random_cf(random.Random(3))
    wrong = code[:15] + ("A" if code[15] != "A" else "B")
    with pytest.raises(InvalidIdentifierError) as err:
        normalize(wrong)
    assert err.value.reason == "invalid_fiscal_code"
    assert cf_check_char(code[:15]) == code[15]


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        ("STP0700010000123", IdKind.STP),
        ("ENI0700010000123", IdKind.ENI),
        ("80380000001234567890", IdKind.TEAM),
        ("12345678901", IdKind.PROVISIONAL),
    ],
)
def test_foreigners_identifiers_are_their_own_kind(raw: str, kind: IdKind) -> None:
    assert normalize(raw).kind is kind


@pytest.mark.parametrize("raw", ["", "9999999999999999", "   "])
def test_anonymous_identifiers_are_missing(raw: str) -> None:
    with pytest.raises(InvalidIdentifierError) as err:
        normalize(raw)
    assert err.value.reason == "missing_identifier"


def test_person_id_is_stable_positive_63_bit_and_key_dependent() -> None:
    code = _random_cf(random.Random(4))
    a = person_id(KEY, code)
    assert a == person_id(KEY, code.lower())
    assert 0 < a < 2**63
    assert a != person_id(bytes(32), code)


def test_kinds_never_share_a_pseudonym() -> None:
    stp = normalize("STP0700010000123")
    eni = normalize("ENI0700010000123")
    assert pseudonym(KEY, stp) != pseudonym(KEY, eni)
    assert pseudonym(KEY, stp, domain="person") != pseudonym(KEY, stp, domain="provider")


def test_id_from_pseudonym_never_returns_zero() -> None:
    assert id_from_pseudonym(bytes(32)) == 1


def test_key_fingerprint_differs_between_keys_and_hides_the_key() -> None:
    assert key_fingerprint(KEY) != key_fingerprint(bytes(32))
    assert KEY.hex() not in key_fingerprint(KEY)
