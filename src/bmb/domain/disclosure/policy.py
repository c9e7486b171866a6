"""The output policy: the numbers that decide what may leave a session.

One frozen value holds every rule's parameter, so a permit can carry the policy it was
granted under and every output report can say which policy it passed. Defaults follow
the practice of the field, each cited so a DPO can check it:

* small counts: counts of 1 to 7 are redacted and the others rounded to the nearest 5
  (OpenSAFELY's rule); the ``threshold10`` preset redacts 1 to 9 and does not round.
* dominance for sums and means: a cell is sensitive when its 2 largest contributors
  hold more than 90% of the total (the (n, k) rule) or when the rest of the total is
  less than 10% of the largest contribution (the p% rule); ACRO/SACRO's defaults.
* models: at least 10 residual degrees of freedom and at least 10 persons in every
  cell of every categorical variable (ACRO/SACRO).
* person-level extracts: every equivalence class on the quasi-identifiers holds at
  least 5 persons (k-anonymity) with at least 2 distinct values of each sensitive
  attribute (distinct l-diversity); up to 5% of persons may be suppressed to get there
  (ARX's record suppression limit).
* differencing: an output whose population differs from an earlier output's of the
  same project by 1 to 10 persons is refused (or only flagged, if so configured).
* differential privacy: off unless the permit sets a privacy budget; then each
  released table spends ``dp_epsilon`` of it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from enum import StrEnum
from typing import Any


class DifferencingAction(StrEnum):
    """What happens to an output that nearly repeats an earlier one."""

    REFUSE = "refuse"
    FLAG = "flag"


@dataclass(frozen=True, slots=True)
class OutputPolicy:
    """Every parameter of the output policy (see the module docstring for defaults)."""

    max_redacted: int = 7
    rounding: int = 5
    redact_zero: bool = False
    dominance_n: int = 2
    dominance_k: float = 0.90
    p_percent: float = 0.10
    model_min_cell: int = 10
    model_min_dof: int = 10
    k: int = 5
    l_diversity: int = 2
    max_suppressed_fraction: float = 0.05
    differencing_window: int = 10
    differencing_action: DifferencingAction = DifferencingAction.REFUSE
    dp_epsilon: float | None = None
    dp_max_contributions: int = 1

    def __post_init__(self) -> None:
        checks = [
            (self.max_redacted >= 0, "max_redacted must be at least 0"),
            (self.rounding >= 1, "rounding must be at least 1 (1 means no rounding)"),
            (self.dominance_n >= 1, "dominance_n must be at least 1"),
            (0 < self.dominance_k <= 1, "dominance_k must be in (0, 1]"),
            (0 <= self.p_percent < 1, "p_percent must be in [0, 1)"),
            (self.model_min_cell >= 0, "model_min_cell must be at least 0"),
            (self.model_min_dof >= 0, "model_min_dof must be at least 0"),
            (self.k >= 1, "k must be at least 1"),
            (self.l_diversity >= 1, "l_diversity must be at least 1"),
            (0 <= self.max_suppressed_fraction < 1, "max_suppressed_fraction must be in [0, 1)"),
            (self.differencing_window >= 0, "differencing_window must be at least 0"),
            (self.dp_epsilon is None or self.dp_epsilon > 0, "dp_epsilon must be positive"),
            (self.dp_max_contributions >= 1, "dp_max_contributions must be at least 1"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"output policy: {message}")

    @property
    def threshold(self) -> int:
        """The smallest count released as it is (before rounding)."""
        return self.max_redacted + 1

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["differencing_action"] = self.differencing_action.value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OutputPolicy:
        """A policy from a mapping (a stored permit, a policy file); unknown keys refused."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"output policy: unknown settings {', '.join(unknown)}")
        values = dict(data)
        if "differencing_action" in values:
            values["differencing_action"] = DifferencingAction(values["differencing_action"])
        return cls(**values)

    def with_changes(self, **changes: Any) -> OutputPolicy:
        return replace(self, **changes)


#: Named policies a permit can be granted under.
PRESETS: dict[str, OutputPolicy] = {
    "default": OutputPolicy(),
    "threshold10": OutputPolicy(max_redacted=9, rounding=1),
}


def preset(name: str) -> OutputPolicy:
    """A named policy, or ``ValueError`` listing the names."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(
            f"unknown output policy {name!r}: use one of {', '.join(PRESETS)}"
        ) from None
