"""Outcome indicators (PNE-style) as data: cohorts of admissions and their outcome.

Each indicator of ``pne.yaml`` defines an index admission (setting, regime, age,
diagnosis codes and position, exclusions, one episode per person), an event (surgery
within a time from arrival, or death within days of admission) and the covariates of
its risk adjustment. Definitions are data so that a methodologist can read, check
against the PNE protocol and correct them without touching code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from bmb.domain.errors import ConfigError

#: Covariates a definition may name: age, female, and Charlson categories (cc_*),
#: plus two unions (any diabetes, any malignancy).
COVARIATES = frozenset(
    {
        "age",
        "female",
        "cc_ami",
        "cc_chf",
        "cc_pvd",
        "cc_cevd",
        "cc_dementia",
        "cc_copd",
        "cc_rheumd",
        "cc_pud",
        "cc_mld",
        "cc_msld",
        "cc_rend",
        "cc_hp",
        "cc_aids",
        "cc_diab_any",
        "cc_canc_any",
    }
)


@dataclass(frozen=True, slots=True)
class ProcedureRange:
    """ICD-9-CM procedure codes ``first`` to ``last`` (dotted, inclusive)."""

    first: str
    last: str


@dataclass(frozen=True, slots=True)
class Indicator:
    """One indicator: the index admissions, the event, the risk adjustment."""

    name: str
    title: str
    kind: str  # process or outcome
    better: str  # higher or lower
    threshold: float | None  # percent
    age_min: int
    age_max: int
    regime: str  # ordinary, day_hospital or any
    diagnosis_codes: tuple[str, ...]
    principal_only: bool
    exclude_fifth_digits: tuple[str, ...]
    exclude_transfers_in: bool
    procedures: tuple[ProcedureRange, ...]
    within_hours: int | None
    date_only_days: int | None
    death_within_days: int | None
    lookback_days: int
    covariates: tuple[str, ...]

    @property
    def is_surgery_timing(self) -> bool:
        return bool(self.procedures)


@dataclass(frozen=True, slots=True)
class IndicatorSet:
    name: str
    version: str
    indicators: tuple[Indicator, ...]

    def get(self, name: str) -> Indicator:
        for i in self.indicators:
            if i.name == name:
                return i
        raise ConfigError(
            f"unknown indicator {name!r}",
            hint=f"choose from {', '.join(i.name for i in self.indicators)}",
        )


def _procedures(items: list[str]) -> tuple[ProcedureRange, ...]:
    out = []
    for item in items:
        first, _, last = str(item).partition("-")
        out.append(ProcedureRange(first.strip(), (last or first).strip()))
    return tuple(out)


def _indicator(name: str, d: Mapping[str, Any]) -> Indicator:
    dx = d["diagnosis"]
    num = d["numerator"]
    adj = d.get("risk_adjustment") or {}
    covs = tuple(str(c) for c in adj.get("covariates") or ["age", "female"])
    unknown = sorted(set(covs) - COVARIATES)
    if unknown:
        raise ValueError(f"unknown covariates {unknown}")
    procedures = _procedures(num.get("procedures") or [])
    death = num.get("death_within_days")
    if bool(procedures) == (death is not None):
        raise ValueError("the numerator needs either procedures or death_within_days")
    if d.get("setting", "inpatient") != "inpatient":
        raise ValueError("only inpatient indicators are supported")
    age = d.get("age") or [0, 200]
    return Indicator(
        name=name,
        title=str(d["title"]),
        kind=str(d.get("kind", "outcome")),
        better=str(d.get("better", "lower")),
        threshold=None if d.get("threshold") is None else float(d["threshold"]),
        age_min=int(age[0]),
        age_max=int(age[1]),
        regime=str(d.get("regime", "ordinary")),
        diagnosis_codes=tuple(str(c) for c in dx["icd9cm"]),
        principal_only=dx.get("position", "any") == "principal",
        exclude_fifth_digits=tuple(str(c) for c in dx.get("exclude_icd9cm_fifth_digit") or []),
        exclude_transfers_in=bool(d.get("exclude_transfers_in", True)),
        procedures=procedures,
        within_hours=None if num.get("within_hours") is None else int(num["within_hours"]),
        date_only_days=None if num.get("date_only_days") is None else int(num["date_only_days"]),
        death_within_days=None if death is None else int(death),
        lookback_days=int(adj.get("comorbidity_lookback_days", 730)),
        covariates=covs,
    )


def parse_indicators(data: Any, origin: str) -> IndicatorSet:
    """Definitions from parsed YAML; errors name ``origin`` and the indicator."""
    if not isinstance(data, Mapping) or not isinstance(data.get("indicators"), Mapping):
        raise ConfigError(f"{origin}: needs an 'indicators' mapping")
    out = []
    for name, d in data["indicators"].items():
        try:
            out.append(_indicator(str(name), d))
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise ConfigError(f"{origin}: indicator {name}: {exc}") from exc
    return IndicatorSet(
        str(data.get("name", "indicators")), str(data.get("version", "1")), tuple(out)
    )


def default_indicators_text() -> str:
    return resources.files(__package__).joinpath("pne.yaml").read_text(encoding="utf-8")


@cache
def default_indicators() -> IndicatorSet:
    """BMB's PNE-style indicators (``pne.yaml``)."""
    return parse_indicators(
        yaml.safe_load(default_indicators_text()), "bmb/domain/indicators/pne.yaml"
    )


__all__ = [
    "COVARIATES",
    "Indicator",
    "IndicatorSet",
    "ProcedureRange",
    "default_indicators",
    "default_indicators_text",
    "parse_indicators",
]
