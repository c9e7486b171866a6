"""The inclusion-rule report of a cohort, computed from rule bitmasks like Circe's.

Each qualified event carries a mask with bit *i* set when it satisfies inclusion rule
*i*. From the count of events (or of each person's best event) per mask, everything
ATLAS shows follows: how many satisfy each rule on its own, how many each rule alone
removes (``gain``: satisfy all other rules but not this one), and the attrition when
the rules apply in order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RuleStat:
    """One inclusion rule's counts (events or persons, as the report's mode says)."""

    index: int
    name: str
    satisfied: int  # satisfy this rule (whatever the others)
    gain: int  # satisfy every other rule but not this one
    remaining: int  # satisfy this rule and every rule before it


@dataclass(frozen=True, slots=True)
class Attrition:
    """Counts by mask and the per-rule report, for one mode (events or persons)."""

    mode: str  # "events" or "persons"
    base: int
    final: int
    masks: Mapping[int, int]
    rules: tuple[RuleStat, ...]

    def steps(self) -> list[tuple[str, int, int]]:
        """(label, remaining, lost) from the base count through each rule in order."""
        out = [("qualifying " + self.mode, self.base, 0)]
        previous = self.base
        for r in self.rules:
            out.append((r.name or f"rule {r.index}", r.remaining, previous - r.remaining))
            previous = r.remaining
        return out


def attrition(mode: str, masks: Mapping[int, int], names: tuple[str, ...]) -> Attrition:
    """The report for rule ``names`` given counts per mask."""
    total = sum(masks.values())
    all_bits = (1 << len(names)) - 1
    rules = []
    for i, name in enumerate(names):
        bit = 1 << i
        prefix = (1 << (i + 1)) - 1
        rules.append(
            RuleStat(
                index=i,
                name=name,
                satisfied=sum(n for m, n in masks.items() if m & bit),
                gain=sum(n for m, n in masks.items() if m == all_bits & ~bit),
                remaining=sum(n for m, n in masks.items() if m & prefix == prefix),
            )
        )
    final = sum(n for m, n in masks.items() if m == all_bits) if names else total
    return Attrition(mode, total, final, dict(masks), tuple(rules))
