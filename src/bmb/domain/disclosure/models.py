"""Disclosure rules for model outputs (regressions, classifiers' summaries).

A fitted model can reveal persons when it has almost as many parameters as
observations (residual degrees of freedom near zero reproduce the data) or when a
categorical variable has a level with few persons (its coefficient describes them).
ACRO/SACRO check both; so does BMB, on the counts the engine computes from the data the
model was fitted on: at least ``model_min_dof`` residual degrees of freedom, and at
least ``model_min_cell`` persons in every level of every categorical variable (outcome
levels included, and every outcome-by-level cell when the outcome is categorical).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bmb.domain.disclosure.policy import OutputPolicy


@dataclass(frozen=True, slots=True)
class ModelFacts:
    """What the engine measured about a model's training data."""

    n_persons: int
    n_parameters: int
    cells: Mapping[str, int]  # "variable=level" or "outcome=1|sex=F" -> persons

    @property
    def residual_dof(self) -> int:
        return self.n_persons - self.n_parameters


@dataclass(frozen=True, slots=True)
class ModelCheck:
    passed: bool
    problems: tuple[str, ...]


def check_model(facts: ModelFacts, policy: OutputPolicy) -> ModelCheck:
    """Whether a model built on these data may be released, and why not if not."""
    problems: list[str] = []
    if facts.residual_dof < policy.model_min_dof:
        problems.append(
            f"residual degrees of freedom {facts.residual_dof} < {policy.model_min_dof}"
        )
    for cell, n in sorted(facts.cells.items()):
        if n < policy.model_min_cell:
            problems.append(f"cell {cell} has {n} persons < {policy.model_min_cell}")
    return ModelCheck(not problems, tuple(problems))
