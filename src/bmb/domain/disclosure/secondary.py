"""Secondary suppression: hide enough other cells that no redacted cell can be worked out.

A table with margins obeys additive constraints: a total equals the sum of its parts.
If one cell of a constraint is redacted and the others are published, subtraction
gives it back. The classical remedy is to redact complementary cells; BMB does it in
two steps, repeated until nothing changes:

1. every constraint that holds exactly one redacted cell gets a second one: the
   smallest non-zero published part (a total only if no part is left), so that the
   information lost is small;
2. an audit plays the attacker. It knows the published cells, the constraints, and
   that a redacted cell is at least 1 when zeros are never redacted. It derives
   (a) every redacted cell the linear system determines exactly, by elimination modulo
   a large prime, and (b) bounds for every redacted cell by propagating intervals
   through the constraints. A cell pinned by either is disclosed, and one more
   complementary cell in one of its constraints is redacted.

The result is that no redacted cell is determined exactly by the published table.
Rounding of the published counts (applied afterwards) adds uncertainty on top. Tables
whose parts do not add up to their totals (a person in several categories) are
treated as if they did: the constraints are then stronger than the truth, which only
makes the suppression more cautious.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

Key = tuple[Hashable, ...]

#: A prime near 2**61 for exact-with-high-probability elimination over the integers.
_PRIME = (1 << 61) - 1
_INF = math.inf


@dataclass(frozen=True, slots=True)
class Constraint:
    """``total`` equals the sum of ``parts``."""

    total: Key
    parts: tuple[Key, ...]

    def cells(self) -> tuple[Key, ...]:
        return (self.total, *self.parts)


def margin_constraints(keys: Sequence[Key]) -> list[Constraint]:
    """The additive constraints of a table whose margins have ``None`` in a dimension.

    For a row ``r`` with ``None`` in dimension ``d``, its parts are the rows equal to
    ``r`` everywhere but in ``d``, where they have a value.
    """
    present = set(keys)
    by_pattern: dict[tuple[int, Key], list[Key]] = {}
    for key in keys:
        for d, value in enumerate(key):
            if value is None:
                continue
            wildcard = (*key[:d], None, *key[d + 1 :])
            by_pattern.setdefault((d, wildcard), []).append(key)
    out: list[Constraint] = []
    for (_, total), parts in by_pattern.items():
        if total in present and parts:
            out.append(Constraint(total, tuple(sorted(parts, key=repr))))
    out.sort(key=lambda c: repr(c.total))
    return out


def _interior_rank(key: Key) -> int:
    return sum(1 for v in key if v is None)


def _complement(
    candidates: Sequence[Key], values: Mapping[Key, float], avoid_zero: bool
) -> Key | None:
    """The cell to redact next among ``candidates``: interior, non-zero, smallest."""
    if not candidates:
        return None

    def cost(key: Key) -> tuple[int, int, float, str]:
        zero = 1 if (avoid_zero and values[key] == 0) else 0
        return (zero, _interior_rank(key), abs(values[key]), repr(key))

    return min(candidates, key=cost)


def suppress(
    values: Mapping[Key, float],
    primary: set[Key],
    constraints: Sequence[Constraint],
    *,
    nonnegative: bool = True,
    zero_published: bool = True,
) -> set[Key]:
    """The redacted cells: ``primary`` and the complementary cells that protect them.

    ``nonnegative`` says every cell is at least 0 (counts); ``zero_published`` says a
    redacted cell is never a true zero, which an attacker may use as a lower bound of
    1 (the default rule for counts: zeros are published).
    """
    redacted = set(primary)
    if not redacted:
        return redacted
    for _ in range(len(values) + 1):
        _pair_up(values, redacted, constraints, avoid_zero=zero_published)
        lower = 1.0 if (zero_published and all(values[k] != 0 for k in redacted)) else 0.0
        disclosed = disclosed_cells(
            values, redacted, constraints, lower=lower if nonnegative else -_INF
        )
        if not disclosed:
            return redacted
        grew = False
        for key in sorted(disclosed, key=repr):
            pick = _complement_for(key, values, redacted, constraints, zero_published)
            if pick is not None:
                redacted.add(pick)
                grew = True
                break
        if not grew:  # nothing left to redact around them: withhold the whole table
            return set(values)
    return set(values)


def _pair_up(
    values: Mapping[Key, float],
    redacted: set[Key],
    constraints: Sequence[Constraint],
    *,
    avoid_zero: bool,
) -> None:
    changed = True
    while changed:
        changed = False
        for c in constraints:
            cells = c.cells()
            hidden = [k for k in cells if k in redacted]
            if len(hidden) != 1:
                continue
            shown = [k for k in cells if k not in redacted]
            parts = [k for k in shown if k != c.total] or shown
            pick = _complement(parts, values, avoid_zero)
            if pick is not None:
                redacted.add(pick)
                changed = True


def _complement_for(
    key: Key,
    values: Mapping[Key, float],
    redacted: set[Key],
    constraints: Sequence[Constraint],
    avoid_zero: bool,
) -> Key | None:
    """A published cell to redact next to a disclosed cell, nearest constraints first."""
    seen: set[Key] = {key}
    frontier = [key]
    while frontier:
        nxt: list[Key] = []
        for cell in frontier:
            for c in constraints:
                cells = c.cells()
                if cell not in cells:
                    continue
                shown = [k for k in cells if k not in redacted]
                if shown:
                    parts = [k for k in shown if k != c.total] or shown
                    return _complement(parts, values, avoid_zero)
                for k in cells:
                    if k not in seen:
                        seen.add(k)
                        nxt.append(k)
        frontier = nxt
    return None


def disclosed_cells(
    values: Mapping[Key, float],
    redacted: set[Key],
    constraints: Sequence[Constraint],
    *,
    lower: float = 0.0,
) -> set[Key]:
    """Redacted cells an attacker can work out exactly from the published table."""
    exact = _determined(values, redacted, constraints)
    bounds = interval_bounds(values, redacted, constraints, lower=lower)
    pinned = {k for k, (lo, hi) in bounds.items() if hi - lo < 0.5}
    return exact | pinned


def _determined(
    values: Mapping[Key, float], redacted: set[Key], constraints: Sequence[Constraint]
) -> set[Key]:
    """Redacted cells whose unit vector lies in the row space of the constraint system."""
    order = sorted(redacted, key=repr)
    index = {k: i for i, k in enumerate(order)}
    rows: list[dict[int, int]] = []
    for c in constraints:
        row: dict[int, int] = {}
        if c.total in index:
            row[index[c.total]] = 1
        for p in c.parts:
            if p in index:
                row[index[p]] = (row.get(index[p], 0) - 1) % _PRIME
        row = {i: v for i, v in row.items() if v}
        if row:
            rows.append(row)
    pivots: dict[int, dict[int, int]] = {}  # pivot column -> row normalized to 1 there
    for row in rows:
        reduced = _reduce(row, pivots)
        if not reduced:
            continue
        col = min(reduced)
        inv = pow(reduced[col], _PRIME - 2, _PRIME)
        reduced = {i: v * inv % _PRIME for i, v in reduced.items()}
        for other in pivots.values():  # keep the basis fully reduced
            factor = other.get(col)
            if factor:
                for i, v in reduced.items():
                    other[i] = (other.get(i, 0) - factor * v) % _PRIME
                    if not other[i]:
                        del other[i]
        pivots[col] = reduced
    out: set[Key] = set()
    for key, i in index.items():
        if not _reduce({i: 1}, pivots):
            out.add(key)
    return out


def _reduce(row: dict[int, int], pivots: Mapping[int, dict[int, int]]) -> dict[int, int]:
    vec = dict(row)
    for col in sorted(vec):
        if col not in vec:
            continue
        basis = pivots.get(col)
        if basis is None:
            continue
        factor = vec[col]
        for i, v in basis.items():
            vec[i] = (vec.get(i, 0) - factor * v) % _PRIME
            if not vec[i]:
                del vec[i]
    return vec


def interval_bounds(
    values: Mapping[Key, float],
    redacted: set[Key],
    constraints: Sequence[Constraint],
    *,
    lower: float = 0.0,
) -> dict[Key, tuple[float, float]]:
    """Bounds of each redacted cell an attacker derives by interval propagation."""
    lo = dict.fromkeys(redacted, lower)
    hi = dict.fromkeys(redacted, _INF)

    def val_lo(k: Key) -> float:
        return lo[k] if k in redacted else values[k]

    def val_hi(k: Key) -> float:
        return hi[k] if k in redacted else values[k]

    for _ in range(50):
        changed = False
        for c in constraints:
            if not any(k in redacted for k in c.cells()):
                continue
            if c.total in redacted:
                changed |= _tighten(
                    lo,
                    hi,
                    c.total,
                    sum(val_lo(p) for p in c.parts),
                    sum(val_hi(p) for p in c.parts),
                )
            for p in c.parts:
                if p not in redacted:
                    continue
                others_lo = sum(val_lo(q) for q in c.parts if q != p)
                others_hi = sum(val_hi(q) for q in c.parts if q != p)
                changed |= _tighten(
                    lo, hi, p, val_lo(c.total) - others_hi, val_hi(c.total) - others_lo
                )
        if not changed:
            break
    return {k: (lo[k], hi[k]) for k in redacted}


def _tighten(
    lo: dict[Key, float], hi: dict[Key, float], key: Key, new_lo: float, new_hi: float
) -> bool:
    changed = False
    if not math.isnan(new_lo) and new_lo > lo[key] + 1e-9:
        lo[key] = new_lo
        changed = True
    if not math.isnan(new_hi) and new_hi < hi[key] - 1e-9:
        hi[key] = new_hi
        changed = True
    return changed
