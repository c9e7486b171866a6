"""Cohorts: compile a cohort definition to SQL and generate it on any engine."""

from __future__ import annotations

from bmb.analytics.cohort.attrition import Attrition, RuleStat
from bmb.analytics.cohort.compiler import CohortPlan, compile_cohort
from bmb.analytics.cohort.runner import CohortResult, generate_cohort

__all__ = [
    "Attrition",
    "CohortPlan",
    "CohortResult",
    "RuleStat",
    "compile_cohort",
    "generate_cohort",
]
