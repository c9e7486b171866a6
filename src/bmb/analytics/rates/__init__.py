"""Rates: incidence, prevalence, confidence intervals and age standardization."""

from __future__ import annotations

from bmb.analytics.rates.common import CohortRef
from bmb.analytics.rates.incidence import IncidenceResult, TimeAtRisk, incidence
from bmb.analytics.rates.intervals import (
    Estimate,
    direct_standardized,
    poisson_exact,
    rate,
    wilson,
)
from bmb.analytics.rates.prevalence import PrevalenceResult, prevalence

__all__ = [
    "CohortRef",
    "Estimate",
    "IncidenceResult",
    "PrevalenceResult",
    "TimeAtRisk",
    "direct_standardized",
    "incidence",
    "poisson_exact",
    "prevalence",
    "rate",
    "wilson",
]
