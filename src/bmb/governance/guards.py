"""The guards an output passes before it is queued: differencing and the privacy budget.

Both compare a new output with what the project (or permit) released before, so both
read the store; both run inside :func:`bmb.governance.outputs.request_output`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bmb.domain.disclosure.differencing import Near, PopulationSketch, near_cells
from bmb.domain.errors import BmbError, UsageError
from bmb.domain.governance.actors import Actor
from bmb.domain.governance.roles import Action
from bmb.governance.db import GovernanceStore
from bmb.governance.schema import BudgetRow, OutputRow, PermitRow


class DifferencingError(BmbError):
    """The output nearly repeats an earlier one of the project: refused by the policy."""


@dataclass(frozen=True)
class CellsForDifferencing:
    """An aggregate output's true counts, for comparing it with later outputs."""

    signature: str  # the table's dimensions
    cells: dict[tuple[Any, ...], int]  # (count column, *dimension values) -> true count

    def to_json(self) -> str:
        return json.dumps(
            {"signature": self.signature, "cells": [[*k, v] for k, v in self.cells.items()]},
            default=str,
        )

    @classmethod
    def from_json(cls, text: str) -> CellsForDifferencing:
        data = json.loads(text)
        return cls(data["signature"], {tuple(c[:-1]): int(c[-1]) for c in data["cells"]})


def budget_status(store: GovernanceStore, permit_id: int) -> tuple[float | None, float]:
    """(budget, spent) of a permit's privacy budget (budget ``None``: no DP outputs)."""
    with store.transaction() as tx:
        row = tx.get(PermitRow, permit_id)
        if row is None:
            raise UsageError(f"no permit {permit_id}")
        return row.epsilon_budget, spent_epsilon(tx, permit_id)


def spent_epsilon(tx: Session, permit_id: int) -> float:
    total = tx.execute(
        select(func.coalesce(func.sum(BudgetRow.epsilon), 0.0)).where(
            BudgetRow.permit_id == permit_id
        )
    ).scalar_one()
    return float(total)


def _by_column(cells: dict[tuple[Any, ...], int]) -> dict[str, dict[tuple[Any, ...], int]]:
    out: dict[str, dict[tuple[Any, ...], int]] = {}
    for key, value in cells.items():
        out.setdefault(str(key[0]), {})[tuple(key[1:])] = value
    return out


def near_tables(
    new: CellsForDifferencing, earlier: dict[int, CellsForDifferencing], window: int
) -> list[Near]:
    """Earlier tables with the same dimensions whose counts, under any column name, differ
    from the new ones by 1..window in some cell (renaming a column changes nothing)."""
    found: dict[int, Near] = {}
    new_cols = _by_column(new.cells)
    for output_id, old in earlier.items():
        if old.signature != new.signature:
            continue
        for old_cells in _by_column(old.cells).values():
            for new_cells in new_cols.values():
                for n in near_cells(new_cells, {output_id: old_cells}, window):
                    if output_id not in found or n.difference < found[output_id].difference:
                        found[output_id] = n
    return [found[k] for k in sorted(found)]


def refuse_differencing(store: GovernanceStore, actor: Actor, target: str, reason: str) -> None:
    from bmb.governance.audit import record_refusal

    record_refusal(
        store,
        actor=actor,
        action=Action.OUTPUT_REQUEST.value,
        target=target,
        reason=f"differencing: {reason}",
    )
    raise DifferencingError(
        f"output refused by the differencing guard: {reason}",
        hint="outputs that differ by a handful of persons reveal those persons",
    )


def earlier_outputs(
    tx: Session, project_id: str
) -> tuple[dict[int, PopulationSketch], dict[int, CellsForDifferencing]]:
    rows = tx.execute(
        select(OutputRow)
        .join(PermitRow, PermitRow.id == OutputRow.permit_id)
        .where(PermitRow.project_id == project_id)
    ).scalars()
    sketches: dict[int, PopulationSketch] = {}
    cells: dict[int, CellsForDifferencing] = {}
    for r in rows:
        if r.sketch is not None:
            sketches[r.id] = PopulationSketch.from_bytes(r.sketch)
        if r.cells_json is not None:
            cells[r.id] = CellsForDifferencing.from_json(r.cells_json)
    return sketches, cells
