"""Disclosure control of tables: small counts, dominance, secondary suppression, rounding.

A table is a set of cells keyed by the values of its dimensions; a margin (a total over
a dimension) has ``None`` in that dimension. Each cell has a count of persons and, for
magnitude tables, per-measure statistics (sum, and the largest contributions of single
persons, for the dominance rules). :func:`protect_table` decides, measure by measure,
which cells are released and rounds the released counts.

Cells are judged on true values; only released values are rounded (and, when a privacy
budget is in use, noised before everything else by the engine, which is
post-processing and spends nothing more).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from bmb.domain.disclosure.policy import OutputPolicy
from bmb.domain.disclosure.secondary import Key, margin_constraints, suppress

#: Labels some tools use for a margin row, read as ``None`` (a total).
TOTAL_LABELS = frozenset({"Total", "TOTAL", "total", "All", "ALL"})


class CellStatus(StrEnum):
    RELEASED = "released"
    SMALL = "small"  # primary: a small count (or too few contributors)
    DOMINATED = "dominated"  # primary: the dominance rule
    SECONDARY = "secondary"  # complementary: would reveal a primary cell


@dataclass(frozen=True, slots=True)
class Magnitude:
    """A magnitude cell's statistics, computed by the engine from person totals.

    ``top`` holds the largest absolute contributions of single persons, descending,
    at least as many as the dominance rule's n and 2 (for the p% rule).
    """

    total: float
    abs_total: float
    top: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class TableInput:
    """A table before disclosure control."""

    dims: tuple[str, ...]
    counts: Mapping[Key, int]
    magnitudes: Mapping[str, Mapping[Key, Magnitude]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ProtectedTable:
    """A table after disclosure control: status and released value of every cell."""

    dims: tuple[str, ...]
    count_status: Mapping[Key, CellStatus]
    released_counts: Mapping[Key, int | None]
    measure_status: Mapping[str, Mapping[Key, CellStatus]]
    released_measures: Mapping[str, Mapping[Key, float | None]]

    def n_redacted(self) -> int:
        return sum(1 for s in self.count_status.values() if s is not CellStatus.RELEASED)


def normalize_key(key: Sequence[Hashable]) -> Key:
    """A cell key with every margin label read as ``None``."""
    return tuple(None if (isinstance(v, str) and v in TOTAL_LABELS) else v for v in key)


def round_count(value: int, base: int) -> int:
    """Round half up to a multiple of ``base`` (a base of 1 leaves the value as is)."""
    if base <= 1:
        return value
    return ((2 * value + base) // (2 * base)) * base


def is_small(count: int, policy: OutputPolicy) -> bool:
    """The primary rule for counts: 1..max_redacted (and 0 if zeros are redacted)."""
    if count == 0:
        return policy.redact_zero
    return 0 < count <= policy.max_redacted


def dominated(cell: Magnitude, policy: OutputPolicy) -> bool:
    """The (n, k) rule or the p% rule finds the cell's largest contributors exposed."""
    if cell.abs_total <= 0:
        return False
    top = list(cell.top) + [0.0] * max(0, policy.dominance_n + 2 - len(cell.top))
    if sum(top[: policy.dominance_n]) > policy.dominance_k * cell.abs_total:
        return True
    remainder = cell.abs_total - top[0] - top[1]
    return remainder < policy.p_percent * top[0]


def protect_table(table: TableInput, policy: OutputPolicy) -> ProtectedTable:
    """Primary and secondary suppression of counts and measures, then rounding."""
    keys = list(table.counts)
    constraints = margin_constraints(keys)
    values = {k: float(v) for k, v in table.counts.items()}
    small = {k for k, v in table.counts.items() if is_small(v, policy)}
    redacted = suppress(
        values, small, constraints, nonnegative=True, zero_published=not policy.redact_zero
    )
    count_status = {
        k: (
            CellStatus.SMALL
            if k in small
            else CellStatus.SECONDARY
            if k in redacted
            else CellStatus.RELEASED
        )
        for k in keys
    }
    released_counts: dict[Key, int | None] = {
        k: None if k in redacted else round_count(table.counts[k], policy.rounding) for k in keys
    }
    measure_status: dict[str, dict[Key, CellStatus]] = {}
    released_measures: dict[str, dict[Key, float | None]] = {}
    for name, cells in table.magnitudes.items():
        dom = {k for k in keys if k in cells and dominated(cells[k], policy)}
        primary = set(redacted) | dom | {k for k in keys if k not in cells}
        sums = {k: cells[k].total if k in cells else 0.0 for k in keys}
        hidden = suppress(sums, primary, constraints, nonnegative=False, zero_published=False)
        status: dict[Key, CellStatus] = {}
        for k in keys:
            if k in redacted:
                status[k] = count_status[k] if k in small else CellStatus.SECONDARY
            elif k in dom:
                status[k] = CellStatus.DOMINATED
            elif k in hidden:
                status[k] = CellStatus.SECONDARY
            else:
                status[k] = CellStatus.RELEASED
        measure_status[name] = status
        released_measures[name] = {
            k: (sums[k] if status[k] is CellStatus.RELEASED else None) for k in keys
        }
    return ProtectedTable(
        dims=table.dims,
        count_status=count_status,
        released_counts=released_counts,
        measure_status=measure_status,
        released_measures=released_measures,
    )
