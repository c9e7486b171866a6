"""Small counts, secondary suppression, dominance and rounding of tables.

The secondary-suppression property is checked against an independent attacker: an
integer linear program (SciPy's MILP solver, not used by BMB) that, knowing the
published cells, the additive constraints and that redacted cells are at least 1,
minimizes and maximizes every redacted cell. A cell whose minimum equals its maximum
is disclosed; none may be.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp

from bmb.domain.disclosure.policy import OutputPolicy, preset
from bmb.domain.disclosure.secondary import Constraint, margin_constraints, suppress
from bmb.domain.disclosure.tables import (
    CellStatus,
    Magnitude,
    TableInput,
    dominated,
    protect_table,
    round_count,
)

Key = tuple[Hashable, ...]


def cube(values: dict[Key, int], ndims: int) -> dict[Key, int]:
    """A table with every margin of its interior cells (like GROUP BY CUBE)."""
    out: dict[Key, int] = {}
    for key, v in values.items():
        for mask in itertools.product((False, True), repeat=ndims):
            k = tuple(None if m else x for x, m in zip(key, mask, strict=True))
            out[k] = out.get(k, 0) + v
    return out


def attacker_bounds(
    published: dict[Key, int], redacted: set[Key], constraints: list[Constraint], lower: int
) -> dict[Key, tuple[float, float]]:
    """Tightest integer bounds of each redacted cell (MILP), the attacker's best."""
    order = sorted(redacted, key=repr)
    index = {k: i for i, k in enumerate(order)}
    rows, rhs = [], []
    for c in constraints:
        row = np.zeros(len(order))
        const = 0.0
        for k, sign in [(c.total, 1.0)] + [(p, -1.0) for p in c.parts]:
            if k in index:
                row[index[k]] += sign
            else:
                const += sign * published[k]
        if row.any():
            rows.append(row)
            rhs.append(-const)
    cons = [LinearConstraint(np.array(rows), rhs, rhs)] if rows else []
    bounds = Bounds(np.full(len(order), lower), np.full(len(order), 10_000))
    integrality = np.ones(len(order))
    out = {}
    for k, i in index.items():
        cost = np.zeros(len(order))
        cost[i] = 1.0
        lo = milp(cost, constraints=cons, bounds=bounds, integrality=integrality)
        hi = milp(-cost, constraints=cons, bounds=bounds, integrality=integrality)
        assert lo.success
        assert hi.success
        out[k] = (round(lo.fun), round(-hi.fun))
    return out


small_tables = st.integers(min_value=2, max_value=4).flatmap(
    lambda rows: st.integers(min_value=2, max_value=4).flatmap(
        lambda cols: st.lists(
            st.one_of(st.integers(0, 9), st.integers(10, 60)),
            min_size=rows * cols,
            max_size=rows * cols,
        ).map(lambda vals: {(r, c): vals[r * cols + c] for r in range(rows) for c in range(cols)})
    )
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_tables)
def test_secondary_suppression_leaves_no_cell_an_attacker_can_compute(
    interior: dict[Key, int],
) -> None:
    table = cube(interior, 2)
    policy = OutputPolicy()
    protected = protect_table(TableInput(("r", "c"), table), policy)
    redacted = {k for k, s in protected.count_status.items() if s is not CellStatus.RELEASED}
    if not redacted:
        return
    published = {k: v for k, v in table.items() if k not in redacted}
    zero_redacted = any(table[k] == 0 for k in redacted)
    bounds = attacker_bounds(
        published, redacted, margin_constraints(list(table)), 0 if zero_redacted else 1
    )
    for key, (lo, hi) in bounds.items():
        assert lo < hi, f"cell {key} = {table[key]} is disclosed in {table}"


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.tuples(st.sampled_from("ABCDE"), st.sampled_from("xyz")),
        st.integers(0, 40),
        min_size=1,
    ),
    st.sampled_from(["default", "threshold10"]),
)
def test_no_released_cell_is_below_the_threshold(interior: dict[Key, int], name: str) -> None:
    policy = preset(name)
    table = cube(interior, 2)
    protected = protect_table(TableInput(("a", "b"), table), policy)
    for key, value in protected.released_counts.items():
        if value is None:
            continue
        assert value == 0 or table[key] > policy.max_redacted
        assert value % policy.rounding == 0
        assert value == 0 or value > policy.max_redacted


def test_a_lonely_small_cell_gets_a_complement_in_its_row_and_column() -> None:
    table = cube({("a", "x"): 3, ("a", "y"): 20, ("b", "x"): 30, ("b", "y"): 40}, 2)
    protected = protect_table(TableInput(("r", "c"), table), OutputPolicy())
    status = protected.count_status
    assert status[("a", "x")] is CellStatus.SMALL
    # row a, column x and the interior cell completing the rectangle are hidden
    assert status[("a", "y")] is CellStatus.SECONDARY
    assert status[("b", "x")] is CellStatus.SECONDARY
    assert status[("b", "y")] is CellStatus.SECONDARY
    assert protected.released_counts[(None, None)] == 95  # 93 rounded to 5


def test_a_table_without_margins_needs_no_secondary_suppression() -> None:
    table = {("a",): 3, ("b",): 50}
    protected = protect_table(TableInput(("r",), table), OutputPolicy())
    assert protected.count_status[("b",)] is CellStatus.RELEASED
    assert protected.released_counts == {("a",): None, ("b",): 50}


def test_a_total_equal_to_its_single_part_hides_both() -> None:
    table = {("a",): 5, (None,): 5}
    protected = protect_table(TableInput(("r",), table), OutputPolicy())
    assert protected.released_counts == {("a",): None, (None,): None}


@pytest.mark.parametrize(
    ("value", "base", "expected"),
    [(7, 5, 5), (8, 5, 10), (12, 5, 10), (13, 5, 15), (0, 5, 0), (17, 1, 17), (15, 10, 20)],
)
def test_round_count_rounds_half_up_to_the_base(value: int, base: int, expected: int) -> None:
    assert round_count(value, base) == expected


def test_dominance_flags_a_cell_held_by_two_persons() -> None:
    policy = OutputPolicy()
    assert dominated(Magnitude(1000.0, 1000.0, (700.0, 250.0)), policy)  # 95% in top 2
    assert not dominated(Magnitude(1000.0, 1000.0, (100.0, 90.0)), policy)


def test_p_percent_rule_flags_a_cell_where_the_rest_is_tiny() -> None:
    policy = OutputPolicy(dominance_k=1.0)  # only the p% rule
    # 1000 - 500 - 460 = 40 < 10% of 500: the second contributor estimates the first
    assert dominated(Magnitude(1000.0, 1000.0, (500.0, 460.0)), policy)
    assert not dominated(Magnitude(1000.0, 1000.0, (300.0, 200.0)), policy)


def test_sums_follow_count_suppression_and_dominance() -> None:
    counts = {("a",): 20, ("b",): 30, ("c",): 3, (None,): 53}
    sums = {
        ("a",): Magnitude(100.0, 100.0, (10.0, 9.0)),
        ("b",): Magnitude(900.0, 900.0, (800.0, 50.0)),  # dominated
        ("c",): Magnitude(10.0, 10.0, (5.0, 3.0)),
        (None,): Magnitude(1010.0, 1010.0, (800.0, 50.0)),
    }
    protected = protect_table(TableInput(("g",), counts, {"cost": sums}), OutputPolicy())
    cost = protected.measure_status["cost"]
    assert cost[("b",)] is CellStatus.DOMINATED
    assert cost[("c",)] is CellStatus.SMALL
    # a and the total cannot both be published: total - a would give b + c
    assert cost[("a",)] is not CellStatus.RELEASED or cost[(None,)] is not CellStatus.RELEASED


def test_suppress_withholds_everything_rather_than_leak() -> None:
    values: dict[Key, float] = {("a",): 1.0, (None,): 1.0}
    hidden = suppress(values, {("a",)}, margin_constraints(list(values)))
    assert hidden == {("a",), (None,)}
