"""Characterization: Table 1 of cohorts with standardized mean differences."""

from __future__ import annotations

from bmb.analytics.characterization.covariates import (
    CharlsonIndex,
    ConditionsInWindow,
    CovariateBuilder,
    Demographics,
    DrugsInWindow,
    Utilization,
    default_builders,
)
from bmb.analytics.characterization.table1 import (
    Table1,
    Table1Row,
    characterize,
    standardized_difference,
)

__all__ = [
    "CharlsonIndex",
    "ConditionsInWindow",
    "CovariateBuilder",
    "Demographics",
    "DrugsInWindow",
    "Table1",
    "Table1Row",
    "Utilization",
    "characterize",
    "default_builders",
    "standardized_difference",
]
