"""The authorization matrix, cell by cell: every role against every action.

Each action is attempted through the real action function by a user of each role, with
the object arranged so that the object's own rule holds for the roles limited to their
own objects (a researcher named in the permit, a reviewer who is not the requester).
What the matrix forbids must raise :class:`AccessDeniedError` *and* leave a refused
event in the audit trail; what it allows must go through.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import date, timedelta

import pytest

from bmb.domain.disclosure.report import OutputKind
from bmb.domain.governance.actors import Actor
from bmb.domain.governance.audit import Outcome
from bmb.domain.governance.errors import AccessDeniedError
from bmb.domain.governance.permits import DataForm, TableScope
from bmb.domain.governance.purposes import Purpose
from bmb.domain.governance.roles import MATRIX, Action, Role, allowed, matrix_rows
from bmb.governance import optout, outputs, permits, sessions, trail, users
from bmb.governance.access import require
from bmb.governance.audit import read_entries
from bmb.governance.db import GovernanceStore
from bmb.governance.signing import Signer
from tests.governance.conftest import People

_names = itertools.count()


class World:
    """A store with one user per role, a project, a permit naming the researcher and
    the planner, and outputs in every state the actions need."""

    def __init__(self, people: People, signer: Signer) -> None:
        self.p = people
        self.store = people.store
        self.signer = signer
        c = people.controller
        users.create_user(self.store, actor=c, name="victim", role=Role.RESEARCHER)
        permits.create_project(
            self.store,
            actor=c,
            project_id="proj",
            title="t",
            applicant="a",
            lead="rita",
            public_body=True,
        )
        self.permit = self.grant()
        self.pending = self.request(people.researcher2)
        self.released = self.request(people.researcher2)
        for reviewer in (people.steward, people.steward2):
            outputs.review_output(
                self.store,
                actor=reviewer,
                output_id=self.released,
                decision=outputs.Decision.APPROVE,
            )

    def grant(self) -> int:
        permit = permits.grant_permit(
            self.store,
            actor=self.p.controller,
            project_id="proj",
            purpose=Purpose.PUBLIC_HEALTH,
            form=DataForm.ANONYMIZED,
            members=["rita", "paolo", "remo"],
            tables=[TableScope("person")],
            starts=date.today() - timedelta(days=1),
            expires=date.today() + timedelta(days=30),
        )
        return permit.permit_id

    def request(self, actor: Actor) -> int:
        info = outputs.request_output(
            self.store,
            actor=actor,
            permit_id=self.permit,
            session_id=None,
            kind=OutputKind.TABLE.value,
            name=f"o{next(_names)}.csv",
            location="outputs/x",
            safe_sha256="0" * 64,
            report={"blocking": False, "findings": []},
        )
        return info.id

    def attempt(self, action: Action, actor: Actor) -> None:
        s = self.store
        n = next(_names)
        attempts: dict[Action, Callable[[], object]] = {
            Action.USER_CREATE: lambda: users.create_user(
                s, actor=actor, name=f"new{n}", role=Role.STEWARD
            ),
            Action.USER_DISABLE: lambda: users.disable_user(s, actor=actor, name="victim"),
            Action.USER_LIST: lambda: users.list_users(s, actor=actor),
            Action.TOKEN_ISSUE_OTHER: lambda: users.issue_token(s, actor=actor, name="victim"),
            Action.PROJECT_CREATE: lambda: permits.create_project(
                s, actor=actor, project_id=f"p{n}", title="t", applicant="a", lead="rita"
            ),
            Action.PROJECT_READ: lambda: permits.list_projects(s, actor=actor),
            Action.PERMIT_GRANT: self.grant_as(actor),
            Action.PERMIT_REVOKE: lambda: permits.revoke_permit(
                s, actor=actor, permit_id=self.grant(), reason="test"
            ),
            Action.PERMIT_READ: lambda: permits.get_permit(s, actor=actor, permit_id=self.permit),
            Action.SESSION_OPEN: lambda: sessions.open_session(
                s, actor=actor, permit_id=self.permit, lake_snapshot_id=1
            ),
            Action.OUTPUT_REQUEST: lambda: self.request(actor),
            Action.OUTPUT_READ: lambda: outputs.get_output(s, actor=actor, output_id=self.pending),
            Action.OUTPUT_REVIEW: lambda: outputs.review_output(
                s,
                actor=actor,
                output_id=self.request(self.p.researcher2),
                decision=outputs.Decision.APPROVE,
            ),
            Action.OUTPUT_DOWNLOAD: lambda: outputs.download_output(
                s, actor=actor, output_id=self.released
            ),
            Action.LAKE_INGEST: lambda: require(s, actor, Action.LAKE_INGEST, "lake"),
            Action.LAKE_SQL: lambda: require(s, actor, Action.LAKE_SQL, "lake"),
            Action.LAKE_ANALYZE: lambda: require(s, actor, Action.LAKE_ANALYZE, "lake"),
            Action.LAKE_EXPORT: lambda: require(s, actor, Action.LAKE_EXPORT, "lake"),
            Action.OPTOUT_SELF: lambda: optout.set_opt_out(
                s, actor=actor, person_id=None, opted_out=not self.opted_out(actor)
            ),
            Action.OPTOUT_REGISTER: lambda: optout.set_opt_out(
                s, actor=actor, person_id=1000 + n, opted_out=True
            ),
            Action.OPTOUT_READ: lambda: optout.history(s, actor=actor, person_id=77),
            Action.AUDIT_READ: lambda: trail.read_trail(s, actor=actor),
            Action.AUDIT_VERIFY: lambda: trail.verify_trail(s, actor=actor, public_key=None),
            Action.AUDIT_CHECKPOINT: lambda: trail.sign_checkpoint(
                s, actor=actor, signer=self.signer
            ),
            Action.TRANSPARENCY_SELF: lambda: trail.transparency_subject(
                s, actor=actor, person_id=None
            ),
            Action.TRANSPARENCY_ANY: lambda: trail.transparency_subject(
                s, actor=actor, person_id=31337
            ),
        }
        attempts[action]()

    def grant_as(self, actor: Actor) -> Callable[[], object]:
        return lambda: permits.grant_permit(
            self.store,
            actor=actor,
            project_id="proj",
            purpose=Purpose.PUBLIC_HEALTH,
            form=DataForm.ANONYMIZED,
            members=["rita"],
            tables=[TableScope("person")],
            starts=date.today(),
            expires=date.today() + timedelta(days=1),
        )

    def opted_out(self, actor: Actor) -> bool:
        if actor.person_id is None:
            return False
        events = optout.person_history(self.store, actor.person_id)
        return bool(events and events[-1].opted_out)


@pytest.fixture
def world(people: People, signer: Signer) -> World:
    return World(people, signer)


def test_every_action_is_in_the_matrix() -> None:
    assert set(MATRIX) == set(Action)
    assert len(matrix_rows()) == len(Action)


def _refused_count(store: GovernanceStore) -> int:
    return sum(1 for e in read_entries(store, limit=100_000) if e.outcome is Outcome.REFUSED)


@pytest.mark.parametrize("action", list(Action), ids=lambda a: a.value)
def test_every_role_against_every_action(world: World, action: Action) -> None:
    for role, actor in world.p.by_role().items():
        before = _refused_count(world.store)
        if allowed(role, action):
            world.attempt(action, actor)
            assert _refused_count(world.store) == before, f"{role} {action} was refused"
        else:
            with pytest.raises(AccessDeniedError):
                world.attempt(action, actor)
            refused = [
                e for e in read_entries(world.store, limit=5) if e.outcome is Outcome.REFUSED
            ]
            assert refused, f"{role} refused {action} without an audit event"
            assert refused[-1].action == action.value
            assert refused[-1].actor == actor.label


def test_researchers_use_only_permits_that_name_them(world: World) -> None:
    outsider = users.create_user(
        world.store, actor=world.p.controller, name="olga", role=Role.RESEARCHER
    ).actor()
    for attempt in (
        lambda: sessions.open_session(
            world.store, actor=outsider, permit_id=world.permit, lake_snapshot_id=1
        ),
        lambda: permits.get_permit(world.store, actor=outsider, permit_id=world.permit),
        lambda: outputs.get_output(world.store, actor=outsider, output_id=world.pending),
        lambda: outputs.download_output(world.store, actor=outsider, output_id=world.released),
        lambda: world.request(outsider),
    ):
        with pytest.raises(AccessDeniedError, match="not named"):
            attempt()


def test_nobody_reviews_their_own_output(world: World) -> None:
    c = world.p.controller
    users.create_user(world.store, actor=c, name="steve", role=Role.STEWARD)
    # a steward cannot be named in a permit, so cannot request: the rule is checked on
    # the requester's name, which we set by requesting as a member and reviewing as them
    output = world.request(world.p.researcher)
    with pytest.raises(AccessDeniedError):
        outputs.review_output(
            world.store,
            actor=world.p.researcher,
            output_id=output,
            decision=outputs.Decision.APPROVE,
        )


def test_disabled_and_system_actors_are_refused(world: World) -> None:
    with pytest.raises(AccessDeniedError, match="authenticated user"):
        users.list_users(world.store, actor=Actor.system("someone"))
