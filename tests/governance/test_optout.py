"""The opt-out registry: reversible, with its whole history, read by sessions."""

from __future__ import annotations

import pytest

from bmb.domain.errors import UsageError
from bmb.governance import optout
from bmb.governance.audit import read_entries
from tests.governance.conftest import People


def test_a_citizen_opts_out_and_back_with_history_kept(people: People) -> None:
    registry = optout.OptOutRegistry(people.store)
    assert registry.opted_out() == frozenset()
    optout.set_opt_out(people.store, actor=people.citizen, person_id=None, opted_out=True)
    assert registry.opted_out() == {4242}
    optout.set_opt_out(people.store, actor=people.citizen, person_id=None, opted_out=False)
    assert registry.opted_out() == frozenset()
    optout.set_opt_out(people.store, actor=people.citizen, person_id=None, opted_out=True)
    history = optout.history(people.store, actor=people.citizen, person_id=None)
    assert [e.opted_out for e in history] == [True, False, True]
    assert all(e.channel == "self" for e in history)
    assert registry.opted_out() == {4242}


def test_staff_register_opt_outs_on_behalf(people: People) -> None:
    optout.set_opt_out(
        people.store, actor=people.steward, person_id=99, opted_out=True, channel="mail"
    )
    optout.set_opt_out(people.store, actor=people.controller, person_id=100, opted_out=True)
    assert optout.OptOutRegistry(people.store).opted_out() == {99, 100}
    history = optout.history(people.store, actor=people.auditor, person_id=99)
    assert history[0].by_user == "stefano/steward"
    assert history[0].channel == "mail"


def test_the_audit_trail_does_not_name_the_person(people: People) -> None:
    optout.set_opt_out(people.store, actor=people.steward, person_id=123456789, opted_out=True)
    event = read_entries(people.store, action_prefix="optout.")[-1]
    assert "123456789" not in str(event)


def test_redundant_changes_are_usage_errors(people: People) -> None:
    with pytest.raises(UsageError, match="never opted out"):
        optout.set_opt_out(people.store, actor=people.citizen, person_id=None, opted_out=False)
    optout.set_opt_out(people.store, actor=people.citizen, person_id=None, opted_out=True)
    with pytest.raises(UsageError, match="already opted out"):
        optout.set_opt_out(people.store, actor=people.citizen, person_id=None, opted_out=True)
    with pytest.raises(UsageError, match="channel"):
        optout.set_opt_out(
            people.store, actor=people.steward, person_id=5, opted_out=True, channel="fax"
        )
