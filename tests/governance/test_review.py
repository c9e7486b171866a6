"""The review queue: two reviewers, never the requester; reject, return; blocking
outputs; the privacy-budget ledger; the differencing guard across a project."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bmb.domain.disclosure.differencing import PopulationSketch
from bmb.domain.disclosure.policy import DifferencingAction, OutputPolicy
from bmb.domain.errors import BmbError, UsageError
from bmb.domain.governance.errors import AccessDeniedError
from bmb.domain.governance.permits import DataForm, TableScope
from bmb.domain.governance.purposes import Purpose
from bmb.governance import outputs, permits
from bmb.governance.outputs import CellsForDifferencing, Decision, OutputStatus
from tests.governance.conftest import People


def setup(people: People, policy: OutputPolicy | None = None, budget: float | None = None) -> int:
    permits.create_project(
        people.store,
        actor=people.controller,
        project_id="diab",
        title="t",
        applicant="a",
        lead="rita",
    )
    return permits.grant_permit(
        people.store,
        actor=people.controller,
        project_id="diab",
        purpose=Purpose.SCIENTIFIC_RESEARCH,
        form=DataForm.ANONYMIZED,
        members=["rita", "remo"],
        tables=[TableScope("person")],
        starts=date.today(),
        expires=date.today() + timedelta(days=10),
        policy=policy,
        epsilon_budget=budget,
    ).permit_id


def request(
    people: People,
    permit: int,
    *,
    blocking: bool = False,
    sketch: PopulationSketch | None = None,
    cells: CellsForDifferencing | None = None,
    epsilon: float | None = None,
) -> outputs.OutputInfo:
    return outputs.request_output(
        people.store,
        actor=people.researcher,
        permit_id=permit,
        session_id=None,
        kind="table",
        name="t.csv",
        location="outputs/x",
        safe_sha256="ab" * 32,
        report={"blocking": blocking, "findings": []},
        sketch=sketch,
        cells=cells,
        epsilon=epsilon,
    )


def review(
    people: People, who: str, output: int, decision: Decision, comment: str = ""
) -> OutputStatus:
    actor = {"stefano": people.steward, "sara": people.steward2, "carla": people.controller}[who]
    return outputs.review_output(
        people.store, actor=actor, output_id=output, decision=decision, comment=comment
    ).status


def test_two_distinct_approvals_release(people: People) -> None:
    out = request(people, setup(people)).id
    assert review(people, "stefano", out, Decision.APPROVE) is OutputStatus.PENDING
    assert review(people, "carla", out, Decision.APPROVE) is OutputStatus.RELEASED
    info = outputs.download_output(people.store, actor=people.researcher2, output_id=out)
    assert info.status is OutputStatus.RELEASED
    with pytest.raises(UsageError, match="not pending"):
        review(people, "sara", out, Decision.APPROVE)


def test_reject_and_return_need_a_comment_and_close_the_output(people: People) -> None:
    permit = setup(people)
    first, second = request(people, permit).id, request(people, permit).id
    with pytest.raises(UsageError, match="comment"):
        review(people, "stefano", first, Decision.REJECT)
    assert review(people, "stefano", first, Decision.REJECT, "cells too small") is (
        OutputStatus.REJECTED
    )
    assert review(people, "stefano", second, Decision.RETURN, "use bands") is (
        OutputStatus.RETURNED
    )
    for out in (first, second):
        with pytest.raises(AccessDeniedError, match="only released"):
            outputs.download_output(people.store, actor=people.researcher, output_id=out)


def test_a_blocking_output_cannot_be_approved(people: People) -> None:
    out = request(people, setup(people), blocking=True).id
    with pytest.raises(AccessDeniedError, match="blocks"):
        review(people, "stefano", out, Decision.APPROVE)
    assert review(people, "stefano", out, Decision.REJECT, "blocked") is OutputStatus.REJECTED


def test_outputs_of_a_revoked_permit_are_not_released(people: People) -> None:
    permit = setup(people)
    out = request(people, permit).id
    review(people, "stefano", out, Decision.APPROVE)
    permits.revoke_permit(people.store, actor=people.controller, permit_id=permit, reason="x")
    with pytest.raises(AccessDeniedError, match="revoked"):
        review(people, "sara", out, Decision.APPROVE)


def test_the_privacy_budget_is_spent_and_then_refused(people: People) -> None:
    permit = setup(people, OutputPolicy(dp_epsilon=0.4), budget=1.0)
    request(people, permit, epsilon=0.4)
    request(people, permit, epsilon=0.4)
    assert outputs.budget_status(people.store, permit) == (1.0, pytest.approx(0.8))
    with pytest.raises(BmbError, match="exhausted"):
        request(people, permit, epsilon=0.4)
    assert outputs.budget_status(people.store, permit)[1] == pytest.approx(0.8)


def test_a_population_one_person_apart_is_refused(people: People) -> None:
    permit = setup(people)
    base = list(range(1000, 2000))
    request(people, permit, sketch=PopulationSketch.of(base))
    with pytest.raises(outputs.DifferencingError):
        request(people, permit, sketch=PopulationSketch.of(base[1:]))
    # a population far from every earlier one is fine
    request(people, permit, sketch=PopulationSketch.of(range(5000, 5600)))


def test_differencing_can_be_set_to_flag_only(people: People) -> None:
    permit = setup(people, OutputPolicy(differencing_action=DifferencingAction.FLAG))
    request(people, permit, sketch=PopulationSketch.of(range(100)))
    info = request(people, permit, sketch=PopulationSketch.of(range(1, 100)))
    assert info.report["differencing"] == [{"output": 1, "difference": 1, "basis": "population"}]
    assert info.report["findings"][-1]["severity"] == "review"


def test_tables_with_near_cells_are_flagged_whatever_their_column_names(people: People) -> None:
    permit = setup(people)
    request(people, permit, cells=CellsForDifferencing("sex", {("n", "F"): 120, ("n", "M"): 95}))
    info = request(
        people, permit, cells=CellsForDifferencing("sex", {("m", "F"): 119, ("m", "M"): 95})
    )
    assert info.report["differencing"] == [{"output": 1, "difference": 1, "basis": "cells"}]
    other = request(people, permit, cells=CellsForDifferencing("year", {("n", "2024"): 119}))
    assert other.report["differencing"] == []
