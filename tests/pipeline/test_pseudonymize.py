"""The batch pseudonymizer agrees with the identity rules, whatever it has memoized."""

from __future__ import annotations

import pytest

from bmb.domain.identity import InvalidIdentifierError, id_from_pseudonym, normalize, pseudonym
from bmb.pipeline import pseudonymize
from tests.pipeline.flowfiles import fiscal_code

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))


def _expected(key: bytes, raw: str) -> dict[str, object]:
    try:
        ident = normalize(raw)
    except InvalidIdentifierError as exc:
        return {"person_id": None, "id_kind": None, "pseudonym": None, "reason": exc.reason}
    d = pseudonym(key, ident)
    return {
        "person_id": id_from_pseudonym(d),
        "id_kind": ident.kind.value,
        "pseudonym": d.hex(),
        "reason": None,
    }


RAWS = [
    fiscal_code("Rossi", "Mario", "M", "1950-04-03"),
    fiscal_code("Bianchi", "Anna", "F", "1938-11-20").lower(),
    "RSSMRA50D03A388X",  # wrong check character
    "",
    "STP0701030000001",
    "not an id",
    *(
        fiscal_code("Verdi", f"Nome{chr(65 + i)}", "M", f"19{40 + i}-01-0{1 + i % 9}")
        for i in range(20)
    ),
]


@pytest.mark.parametrize("key", [KEY, OTHER_KEY])
def test_each_identifier_gets_what_the_identity_rules_give(key: bytes) -> None:
    pseudonymize._person_memo.clear()
    first = pseudonymize.person_ids(key, RAWS).to_pylist()
    again = pseudonymize.person_ids(key, list(reversed(RAWS))).to_pylist()  # memoized
    for rows in (first, list(reversed(again))):
        for raw, row in zip(RAWS, rows, strict=True):
            assert row["raw"] == raw
            assert {k: v for k, v in row.items() if k != "raw"} == _expected(key, raw), raw


def test_switching_keys_never_reuses_the_other_keys_pseudonyms() -> None:
    a = pseudonymize.person_ids(KEY, RAWS[:1]).to_pylist()[0]
    b = pseudonymize.person_ids(OTHER_KEY, RAWS[:1]).to_pylist()[0]
    c = pseudonymize.person_ids(KEY, RAWS[:1]).to_pylist()[0]
    assert a["pseudonym"] != b["pseudonym"]
    assert a == c


def test_a_full_memo_starts_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pseudonymize, "MEMO_LIMIT", 3)
    rows = pseudonymize.person_ids(KEY, RAWS).to_pylist()
    rows2 = pseudonymize.person_ids(KEY, RAWS).to_pylist()
    assert rows == rows2
    assert len(pseudonymize._person_memo[KEY].index) <= len(RAWS)
