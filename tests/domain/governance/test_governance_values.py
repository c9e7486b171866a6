"""Governance values: purposes, permits' scope and state, project keys, the audit chain."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from bmb.domain.governance.audit import (
    GENESIS,
    AuditEntry,
    FaultKind,
    Outcome,
    StoredEntry,
    entry_hash,
    verify_chain,
)
from bmb.domain.governance.errors import PermitError
from bmb.domain.governance.permits import (
    DataForm,
    Permit,
    PermitState,
    Population,
    TableScope,
    parse_table_scope,
    validate_scope,
)
from bmb.domain.governance.purposes import Purpose, PurposeError, parse_purpose
from bmb.domain.governance.roles import Action, Role, allowed, parse_role
from bmb.domain.governance.scope import person_level_ids
from bmb.domain.project_keys import hkdf, hmac_pads, project_key, project_pseudonym


@pytest.mark.parametrize(
    ("text", "article"),
    [("marketing", "54(c)"), ("insurance", "54(b)"), ("reidentification", "61(3)")],
)
def test_prohibited_uses_are_refused_with_their_article(text: str, article: str) -> None:
    with pytest.raises(PurposeError, match=article.replace("(", r"\(").replace(")", r"\)")):
        parse_purpose(text)


def test_allowed_purposes_parse_in_any_spelling() -> None:
    assert parse_purpose("Scientific Research") is Purpose.SCIENTIFIC_RESEARCH
    assert parse_purpose("public-health") is Purpose.PUBLIC_HEALTH
    assert Purpose.OFFICIAL_STATISTICS.public_bodies_only
    assert not Purpose.SCIENTIFIC_RESEARCH.public_bodies_only
    with pytest.raises(PurposeError, match=r"Art\. 53"):
        parse_purpose("fun")


def test_roles_parse_and_the_matrix_separates_duties() -> None:
    assert parse_role(" Steward ") is Role.STEWARD
    with pytest.raises(ValueError, match="unknown role"):
        parse_role("admin")
    assert allowed(Role.CONTROLLER, Action.PERMIT_GRANT)
    assert not allowed(Role.CONTROLLER, Action.SESSION_OPEN)  # who grants does not analyse
    assert not allowed(Role.RESEARCHER, Action.OUTPUT_REVIEW)
    assert not any(allowed(Role.INDUSTRY, a) for a in Action)  # synthetic data only


def test_table_scopes_parse_and_validate() -> None:
    assert parse_table_scope("person:person_id, year_of_birth") == TableScope(
        "person", frozenset({"person_id", "year_of_birth"})
    )
    scopes = validate_scope([parse_table_scope("visit_occurrence"), TableScope("location")])
    assert [s.table for s in scopes] == ["location", "visit_occurrence"]
    with pytest.raises(PermitError, match="twice"):
        validate_scope([TableScope("person"), TableScope("person")])
    with pytest.raises(PermitError, match="never shown"):
        validate_scope([TableScope("device_exposure", frozenset({"unique_device_id"}))])


def test_permit_states_follow_dates_and_revocation() -> None:
    p = Permit(
        1,
        "p",
        Purpose.POLICY,
        DataForm.ANONYMIZED,
        frozenset({"a"}),
        (TableScope("person"),),
        date(2025, 1, 1),
        date(2025, 12, 31),
    )
    assert p.state(date(2024, 12, 31)) is PermitState.NOT_STARTED
    assert p.state(date(2025, 6, 1)) is PermitState.ACTIVE
    assert p.state(date(2025, 12, 31)) is PermitState.ACTIVE
    assert p.state(date(2026, 1, 1)) is PermitState.EXPIRED
    revoked = replace(p, revoked_at=datetime(2025, 3, 1, tzinfo=UTC))
    assert revoked.state(date(2025, 6, 1)) is PermitState.REVOKED
    with pytest.raises(PermitError, match="revoked on 2025-03-01"):
        revoked.require_active(date(2025, 6, 1))


def test_populations_parse_both_forms() -> None:
    assert Population.parse("cohort:7") == Population(cohort_definition_id=7)
    assert Population.parse("derived.diabetics").derived_table == "diabetics"
    with pytest.raises(PermitError):
        Population.parse("everyone")


def test_session_rekeys_every_person_level_id() -> None:
    assert person_level_ids("visit_detail") == {
        "visit_detail_id": "visit_detail",
        "person_id": "person",
        "preceding_visit_detail_id": "visit_detail",
        "parent_visit_detail_id": "visit_detail",
        "visit_occurrence_id": "visit_occurrence",
    }
    assert "provider_id" not in person_level_ids("condition_occurrence")


def test_hkdf_matches_rfc_5869_test_case_1() -> None:
    okm = hkdf(
        bytes([0x0B] * 22),
        salt=bytes(range(0x0D)),
        info=bytes(range(0xF0, 0xFA)),
        length=42,
    )
    assert okm.hex() == (
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
    )


def test_hkdf_matches_rfc_5869_test_case_3_empty_salt_and_info() -> None:
    okm = hkdf(bytes([0x0B] * 22), salt=b"", info=b"", length=42)
    assert okm.hex() == (
        "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"
    )


def test_project_pseudonyms_differ_between_projects_and_are_stable() -> None:
    master = bytes(range(32))
    a, b = project_key(master, "A"), project_key(master, "B")
    ids = range(1, 2001)
    pa = {project_pseudonym(a, i) for i in ids}
    pb = {project_pseudonym(b, i) for i in ids}
    assert len(pa) == len(pb) == 2000
    assert not pa & pb
    assert project_pseudonym(a, 5) == project_pseudonym(project_key(master, "A"), 5)
    assert project_pseudonym(a, 5) != project_pseudonym(a, 5, kind="visit_occurrence")
    assert all(0 < p < 2**63 for p in pa)


def test_hmac_pads_reproduce_hmac() -> None:
    import hashlib
    import hmac

    key = project_key(bytes(32), "X")
    ipad, opad = hmac_pads(key)
    message = b"person:42"
    by_pads = hashlib.sha256(opad + hashlib.sha256(ipad + message).digest()).digest()
    assert by_pads == hmac.new(key, message, hashlib.sha256).digest()


def chain(n: int) -> list[StoredEntry]:
    out = []
    prev = GENESIS
    for i in range(1, n + 1):
        e = AuditEntry(
            i,
            f"2025-01-01T00:00:0{i % 10}+00:00",
            "a/controller",
            "x.y",
            f"t:{i}",
            Outcome.OK,
            {"i": i},
        )
        h = entry_hash(prev, e)
        out.append(StoredEntry(e, prev, h))
        prev = h
    return out


def test_verify_chain_finds_each_kind_of_tampering() -> None:
    good = chain(6)
    assert verify_chain(good)[0] == []
    changed = list(good)
    e = changed[2].entry
    changed[2] = StoredEntry(
        AuditEntry(e.seq, e.at, "mallory", e.action, e.target, e.outcome, e.details),
        changed[2].prev_hash,
        changed[2].hash,
    )
    assert [f.kind for f in verify_chain(changed)[0]] == [FaultKind.CHANGED]
    removed = good[:2] + good[3:]
    assert {f.kind for f in verify_chain(removed)[0]} == {FaultKind.GAP, FaultKind.BROKEN_LINK}
    swapped = [*good[:2], good[3], good[2], *good[4:]]
    kinds = {f.kind for f in verify_chain(swapped)[0]}
    assert FaultKind.OUT_OF_ORDER in kinds


def test_canonical_form_is_independent_of_key_order() -> None:
    a = AuditEntry(1, "t", "x", "y", "z", Outcome.OK, {"b": 1, "a": [1, 2]})
    b = AuditEntry(1, "t", "x", "y", "z", Outcome.OK, {"a": [1, 2], "b": 1})
    assert a.canonical() == b.canonical()
    assert entry_hash(GENESIS, a) == entry_hash(GENESIS, b)
