"""The output review queue: request, two-person review, release, download.

Nothing leaves a session but through here. An output arrives with its policy report
(already disclosure-controlled by the engine), waits in the queue, and is released only
when two reviewers, neither of them the requester, approve it (OpenSAFELY's two-checker
rule). A reviewer may reject it or return it with comments. Only released outputs can be
downloaded, and only by the people the permit names; the file's SHA-256, recorded at
request time, is checked at download so that a file changed in the queue never leaves.

The differencing guard and the privacy-budget ledger (``guards``) run when an output is
requested; the budget is spent in the same transaction that queues the output.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bmb.domain.disclosure.differencing import (
    Near,
    PopulationSketch,
    near_populations,
)
from bmb.domain.disclosure.policy import DifferencingAction
from bmb.domain.errors import BmbError, UsageError
from bmb.domain.governance.actors import Actor
from bmb.domain.governance.errors import PermitError
from bmb.domain.governance.roles import Action
from bmb.governance.access import refuse, require
from bmb.governance.audit import append
from bmb.governance.db import GovernanceStore
from bmb.governance.guards import (
    CellsForDifferencing,
    DifferencingError,
    budget_status,
    earlier_outputs,
    near_tables,
    refuse_differencing,
    spent_epsilon,
)
from bmb.governance.permits import MEMBER_ROLES, load_permit
from bmb.governance.schema import BudgetRow, OutputRow, PermitRow, ReviewRow, UserRow

__all__ = [
    "APPROVALS_NEEDED",
    "CellsForDifferencing",
    "Decision",
    "DifferencingError",
    "OutputInfo",
    "OutputStatus",
    "budget_status",
    "download_output",
    "get_output",
    "list_outputs",
    "request_output",
    "review_output",
]

#: Distinct approvals an output needs before it is released.
APPROVALS_NEEDED = 2


class OutputStatus(StrEnum):
    PENDING = "pending"
    RETURNED = "returned"
    REJECTED = "rejected"
    RELEASED = "released"


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    RETURN = "return"


@dataclass(frozen=True)
class Review:
    reviewer: str
    decision: Decision
    comment: str
    at: datetime


@dataclass(frozen=True)
class OutputInfo:
    id: int
    permit_id: int
    project_id: str
    requester: str
    kind: str
    name: str
    status: OutputStatus
    created_at: datetime
    decided_at: datetime | None
    location: str
    safe_sha256: str
    report: dict[str, Any]
    epsilon: float | None
    description: str
    reviews: tuple[Review, ...] = field(default=())


def request_output(
    store: GovernanceStore,
    *,
    actor: Actor,
    permit_id: int,
    session_id: int | None,
    kind: str,
    name: str,
    location: str,
    safe_sha256: str,
    report: dict[str, Any],
    sketch: PopulationSketch | None = None,
    cells: CellsForDifferencing | None = None,
    epsilon: float | None = None,
    description: str = "",
) -> OutputInfo:
    """Queue an output for review, after the differencing guard and the budget check."""
    target = f"permit:{permit_id}"
    with store.transaction() as tx:
        permit = load_permit(tx, permit_id)
        earlier_sketches, earlier_cells = earlier_outputs(tx, permit.project_id)
    require(
        store,
        actor,
        Action.OUTPUT_REQUEST,
        target,
        rule=actor.name in permit.members,
        reason="not named in the permit",
    )
    try:
        permit.require_active(datetime.now(UTC).date())
    except PermitError as exc:
        refuse(store, actor, Action.OUTPUT_REQUEST, target, str(exc))
    policy = permit.policy
    near: list[Near] = []
    if sketch is not None:
        near = near_populations(sketch, earlier_sketches, policy.differencing_window)
    if near and policy.differencing_action is DifferencingAction.REFUSE:
        what = ", ".join(f"output {n.output_id} ({n.difference} person(s))" for n in near)
        reason = f"its population differs by very few persons from {what}"
        refuse_differencing(store, actor, target, reason)
    if cells is not None:
        near += near_tables(cells, earlier_cells, policy.differencing_window)
    report = dict(report)
    report["differencing"] = [
        {"output": n.output_id, "difference": n.difference, "basis": n.basis} for n in near
    ]
    if near:
        report["findings"] = [
            *report.get("findings", []),
            {
                "rule": "differencing",
                "severity": "review",
                "message": "nearly repeats "
                + ", ".join(f"output {n.output_id} ({n.basis}, {n.difference})" for n in near)
                + ": check that the difference reveals no one",
            },
        ]
    with store.transaction() as tx:
        if epsilon is not None:
            budget = permit.epsilon_budget
            spent = spent_epsilon(tx, permit_id)
            if budget is None or spent + epsilon > budget + 1e-12:
                left = 0.0 if budget is None else budget - spent
                raise BmbError(
                    f"privacy budget of permit {permit_id} exhausted: {epsilon} asked, "
                    f"{left:.4g} left"
                )
        row = OutputRow(
            permit_id=permit_id,
            session_id=session_id,
            requester_id=actor.user_id,
            kind=kind,
            name=name,
            status=OutputStatus.PENDING.value,
            created_at=datetime.now(UTC),
            location=location,
            safe_sha256=safe_sha256,
            report_json=json.dumps(report, default=str, sort_keys=True),
            sketch=sketch.to_bytes() if sketch is not None else None,
            cells_json=cells.to_json() if cells is not None else None,
            epsilon=epsilon,
            description=description,
        )
        tx.add(row)
        tx.flush()
        if epsilon is not None:
            tx.add(
                BudgetRow(
                    permit_id=permit_id, output_id=row.id, epsilon=epsilon, at=datetime.now(UTC)
                )
            )
        append(
            tx,
            store,
            actor=actor,
            action=Action.OUTPUT_REQUEST.value,
            target=f"output:{row.id}",
            details={
                "permit": permit_id,
                "session": session_id,
                "kind": kind,
                "name": name,
                "sha256": safe_sha256,
                "blocking": bool(report.get("blocking")),
                "findings": len(report.get("findings", [])),
                "epsilon": epsilon,
            },
        )
        return _info(tx, row)


def _info(tx: Session, row: OutputRow) -> OutputInfo:
    requester = tx.get(UserRow, row.requester_id)
    permit = tx.get(PermitRow, row.permit_id)
    reviews = tx.execute(
        select(ReviewRow, UserRow.name)
        .join(UserRow, UserRow.id == ReviewRow.reviewer_id)
        .where(ReviewRow.output_id == row.id)
        .order_by(ReviewRow.id)
    ).all()
    return OutputInfo(
        id=row.id,
        permit_id=row.permit_id,
        project_id=permit.project_id if permit else "?",
        requester=requester.name if requester else "?",
        kind=row.kind,
        name=row.name,
        status=OutputStatus(row.status),
        created_at=row.created_at,
        decided_at=row.decided_at,
        location=row.location,
        safe_sha256=row.safe_sha256,
        report=json.loads(row.report_json),
        epsilon=row.epsilon,
        description=row.description,
        reviews=tuple(Review(str(n), Decision(r.decision), r.comment, r.at) for r, n in reviews),
    )


def _load(tx: Session, output_id: int) -> OutputRow:
    row = tx.get(OutputRow, output_id)
    if row is None:
        raise UsageError(f"no output {output_id}", hint="see 'bmb output list'")
    return row


def review_output(
    store: GovernanceStore, *, actor: Actor, output_id: int, decision: Decision, comment: str = ""
) -> OutputInfo:
    """Record a reviewer's decision; the second approval releases the output."""
    target = f"output:{output_id}"
    with store.transaction() as tx:
        row = _load(tx, output_id)
        info = _info(tx, row)
        permit = load_permit(tx, row.permit_id)
    require(
        store,
        actor,
        Action.OUTPUT_REVIEW,
        target,
        rule=info.requester != actor.name,
        reason="nobody reviews their own output",
    )
    if any(r.reviewer == actor.name for r in info.reviews):
        refuse(store, actor, Action.OUTPUT_REVIEW, target, "already reviewed by this reviewer")
    if info.status is not OutputStatus.PENDING:
        raise UsageError(f"output {output_id} is {info.status.value}, not pending review")
    if decision is not Decision.APPROVE and not comment.strip():
        raise UsageError("rejecting or returning an output needs a comment (--comment)")
    if decision is Decision.APPROVE:
        if info.report.get("blocking"):
            refuse(
                store,
                actor,
                Action.OUTPUT_REVIEW,
                target,
                "the output policy blocks this output; it can only be rejected or returned",
            )
        try:
            permit.require_active(datetime.now(UTC).date())
        except PermitError as exc:
            refuse(store, actor, Action.OUTPUT_REVIEW, target, f"cannot approve: {exc}")
    with store.transaction() as tx:
        row = _load(tx, output_id)
        if row.status != OutputStatus.PENDING.value:  # decided meanwhile
            raise UsageError(f"output {output_id} is {row.status}, not pending review")
        tx.add(
            ReviewRow(
                output_id=output_id,
                reviewer_id=actor.user_id,
                decision=decision.value,
                comment=comment,
                at=datetime.now(UTC),
            )
        )
        tx.flush()
        append(
            tx,
            store,
            actor=actor,
            action=Action.OUTPUT_REVIEW.value,
            target=target,
            details={"decision": decision.value, "comment": comment},
        )
        approvals = tx.execute(
            select(func.count(func.distinct(ReviewRow.reviewer_id))).where(
                ReviewRow.output_id == output_id, ReviewRow.decision == Decision.APPROVE.value
            )
        ).scalar_one()
        new_status: OutputStatus | None = None
        if decision is Decision.REJECT:
            new_status = OutputStatus.REJECTED
        elif decision is Decision.RETURN:
            new_status = OutputStatus.RETURNED
        elif approvals >= APPROVALS_NEEDED:
            new_status = OutputStatus.RELEASED
        if new_status is not None:
            row.status = new_status.value
            row.decided_at = datetime.now(UTC)
            append(
                tx,
                store,
                actor=actor,
                action=f"output.{new_status.value}",
                target=target,
                details={"sha256": row.safe_sha256, "approvals": int(approvals)},
            )
        tx.flush()
        return _info(tx, row)


def _may_see(actor: Actor, info: OutputInfo, members: frozenset[str]) -> bool:
    if actor.role in MEMBER_ROLES:
        return actor.name in members
    return True


def get_output(store: GovernanceStore, *, actor: Actor, output_id: int) -> OutputInfo:
    """An output and its report, for reviewers, auditors and the permit's members."""
    with store.transaction() as tx:
        row = _load(tx, output_id)
        info = _info(tx, row)
        members = load_permit(tx, row.permit_id).members
    require(
        store,
        actor,
        Action.OUTPUT_READ,
        f"output:{output_id}",
        rule=_may_see(actor, info, members),
        reason="not named in the output's permit",
    )
    return info


def list_outputs(
    store: GovernanceStore, *, actor: Actor, status: OutputStatus | None = None
) -> list[OutputInfo]:
    require(store, actor, Action.OUTPUT_READ, "outputs")
    with store.transaction() as tx:
        q = select(OutputRow).order_by(OutputRow.id)
        if status is not None:
            q = q.where(OutputRow.status == status.value)
        out = []
        for row in tx.execute(q).scalars().all():
            info = _info(tx, row)
            if _may_see(actor, info, load_permit(tx, row.permit_id).members):
                out.append(info)
        return out


def download_output(store: GovernanceStore, *, actor: Actor, output_id: int) -> OutputInfo:
    """Authorize (and audit) taking a released output out: the export event."""
    target = f"output:{output_id}"
    with store.transaction() as tx:
        row = _load(tx, output_id)
        info = _info(tx, row)
        members = load_permit(tx, row.permit_id).members
    require(
        store,
        actor,
        Action.OUTPUT_DOWNLOAD,
        target,
        rule=actor.name in members,
        reason="not named in the output's permit",
    )
    if info.status is not OutputStatus.RELEASED:
        refuse(
            store,
            actor,
            Action.OUTPUT_DOWNLOAD,
            target,
            f"output is {info.status.value}; only released outputs leave",
        )
    with store.transaction() as tx:
        append(
            tx,
            store,
            actor=actor,
            action="output.download",
            target=target,
            details={"sha256": info.safe_sha256, "name": info.name},
        )
    return info
