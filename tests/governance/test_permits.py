"""Projects and permits: what a grant checks, expiry and revocation, reading back."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bmb.domain.disclosure.policy import OutputPolicy, preset
from bmb.domain.errors import UsageError
from bmb.domain.governance.errors import PermitError
from bmb.domain.governance.permits import DataForm, PermitState, Population, TableScope
from bmb.domain.governance.purposes import Purpose
from bmb.governance import permits, sessions
from bmb.governance.audit import read_entries
from tests.governance.conftest import People

TODAY = date.today()


def project(people: People, public_body: bool = False) -> None:
    permits.create_project(
        people.store,
        actor=people.controller,
        project_id="diab",
        title="Diabetes",
        applicant="UniGe",
        lead="rita",
        public_body=public_body,
    )


def grant(people: People, **changes: object) -> int:
    args: dict[str, object] = {
        "project_id": "diab",
        "purpose": Purpose.SCIENTIFIC_RESEARCH,
        "form": DataForm.PSEUDONYMIZED,
        "members": ["rita"],
        "tables": [TableScope("person"), TableScope("condition_occurrence")],
        "starts": TODAY,
        "expires": TODAY + timedelta(days=365),
    }
    args.update(changes)
    return permits.grant_permit(people.store, actor=people.controller, **args).permit_id  # type: ignore[arg-type]


def test_a_granted_permit_reads_back_exactly(people: People) -> None:
    project(people)
    pid = grant(
        people,
        tables=[TableScope("person", frozenset({"person_id", "year_of_birth"}))],
        population=Population(cohort_definition_id=12),
        policy=preset("threshold10"),
    )
    p = permits.get_permit(people.store, actor=people.researcher, permit_id=pid)
    assert p.members == {"rita"}
    assert p.tables == (TableScope("person", frozenset({"person_id", "year_of_birth"})),)
    assert p.population == Population(cohort_definition_id=12)
    assert p.policy == OutputPolicy(max_redacted=9, rounding=1)
    assert p.state(TODAY) is PermitState.ACTIVE
    grant_event = read_entries(people.store, action_prefix="permit.grant")[-1]
    assert grant_event.details["population"] == "cohort:12"
    assert grant_event.details["members"] == ["rita"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"members": ["stefano"]}, "researchers and planners"),
        ({"members": []}, "at least one person"),
        ({"tables": [TableScope("note_nlp")]}, "cannot be in a permit"),
        ({"tables": [TableScope("no_such_table")]}, "not an OMOP"),
        ({"tables": [TableScope("person", frozenset({"bogus"}))]}, "no column bogus"),
        ({"tables": [TableScope("concept")]}, "persons' data"),
        ({"expires": TODAY - timedelta(days=400)}, "before it starts"),
        ({"purpose": Purpose.OFFICIAL_STATISTICS}, "public-sector"),
        ({"policy": OutputPolicy(dp_epsilon=1.0)}, "privacy budget"),
    ],
)
def test_a_grant_that_breaks_a_rule_is_refused(
    people: People, changes: dict[str, object], message: str
) -> None:
    project(people)
    with pytest.raises(PermitError, match=message):
        grant(people, **changes)


def test_unknown_members_and_projects_are_usage_errors(people: People) -> None:
    project(people)
    with pytest.raises(UsageError, match="no user"):
        grant(people, members=["ghost"])
    with pytest.raises(UsageError, match="no project"):
        grant(people, project_id="nope")


def test_public_bodies_may_have_public_health_permits(people: People) -> None:
    project(people, public_body=True)
    assert grant(people, purpose=Purpose.OFFICIAL_STATISTICS) > 0


def test_revoked_and_expired_permits_open_no_session(people: People) -> None:
    from bmb.domain.governance.errors import AccessDeniedError

    project(people)
    revoked = grant(people)
    permits.revoke_permit(people.store, actor=people.controller, permit_id=revoked, reason="x")
    expired = grant(people, starts=TODAY - timedelta(days=30), expires=TODAY - timedelta(days=1))
    future = grant(people, starts=TODAY + timedelta(days=3))
    for pid, word in ((revoked, "revoked"), (expired, "expired"), (future, "starts on")):
        with pytest.raises(AccessDeniedError, match=word):
            sessions.open_session(
                people.store, actor=people.researcher, permit_id=pid, lake_snapshot_id=1
            )
    with pytest.raises(UsageError, match="already revoked"):
        permits.revoke_permit(people.store, actor=people.controller, permit_id=revoked, reason="")


def test_members_list_only_their_permits_and_projects(people: People) -> None:
    project(people)
    grant(people)
    permits.create_project(
        people.store,
        actor=people.controller,
        project_id="other",
        title="o",
        applicant="a",
        lead="remo",
    )
    grant(people, project_id="other", members=["remo"])
    mine = permits.list_permits(people.store, actor=people.researcher)
    assert [p.project_id for p in mine] == ["diab"]
    assert [p.id for p in permits.list_projects(people.store, actor=people.researcher)] == ["diab"]
    assert len(permits.list_permits(people.store, actor=people.steward)) == 2
