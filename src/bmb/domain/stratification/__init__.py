"""The risk pyramid's levels, the frailty markers, resource bands and standard costs.

Planners stratify the population to match care to need: a few complex patients for
case management, more with several conditions for disease management, most for
self-care support. Which resident goes where is a policy choice, so it lives in a
configuration file (``pyramid.yaml``) the agency can read and change, and this module
turns it into frozen values checked for consistency.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from bmb.domain.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Level:
    """A pyramid level: reached with ``min_conditions`` or more, or by frailty if ``frail``."""

    level: int
    name: str
    min_conditions: int
    frail: bool


@dataclass(frozen=True, slots=True)
class KaiserTier:
    """A Kaiser pyramid tier, the levels it corresponds to, and its usual share (percent)."""

    tier: str
    levels: tuple[int, ...]
    low: float
    high: float


@dataclass(frozen=True, slots=True)
class Frailty:
    """Markers any one of which makes a resident frail."""

    conditions: tuple[str, ...]
    unplanned_admissions: int | None
    age: int | None
    age_conditions: int | None


@dataclass(frozen=True, slots=True)
class Costs:
    """Standard unit costs (euro) where the CDM carries no price."""

    inpatient_first_day: float
    inpatient_per_day: float
    day_hospital_access: float
    emergency_by_triage: Mapping[str, float]
    emergency_default: float
    outpatient_default: float


@dataclass(frozen=True, slots=True)
class PyramidConfig:
    """Everything the stratification needs."""

    name: str
    version: str
    levels: tuple[Level, ...]  # level 1 first
    kaiser: tuple[KaiserTier, ...]
    frailty: Frailty
    band_percentiles: tuple[float, ...]
    band_names: tuple[str, ...]
    costs: Costs
    origin: str

    def level_name(self, level: int) -> str:
        for lv in self.levels:
            if lv.level == level:
                return lv.name
        raise KeyError(level)


def parse_pyramid(data: Any, origin: str) -> PyramidConfig:
    """Configuration from parsed YAML; errors name ``origin`` and the field."""
    try:
        return _parse(data, origin)
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{origin}: invalid pyramid configuration: {exc}") from exc


def _parse(data: Any, origin: str) -> PyramidConfig:
    levels = tuple(
        Level(int(x["level"]), str(x["name"]), int(x["min_conditions"]), bool(x.get("frail")))
        for x in data["levels"]
    )
    if [lv.level for lv in levels] != list(range(1, len(levels) + 1)):
        raise ValueError("levels must be numbered 1, 2, ... from the top")
    if any(a.min_conditions <= b.min_conditions for a, b in itertools.pairwise(levels)):
        raise ValueError("min_conditions must decrease from level 1 down")
    if levels[-1].min_conditions != 0:
        raise ValueError("the last level must take everyone left (min_conditions: 0)")
    kaiser = tuple(
        KaiserTier(
            str(k["tier"]), tuple(int(v) for v in k["levels"]), float(k["low"]), float(k["high"])
        )
        for k in data.get("kaiser") or []
    )
    f = data.get("frailty") or {}
    awc = f.get("age_with_conditions") or {}
    frailty = Frailty(
        conditions=tuple(str(c) for c in f.get("conditions") or []),
        unplanned_admissions=_opt_int(f.get("unplanned_admissions")),
        age=_opt_int(awc.get("age")),
        age_conditions=_opt_int(awc.get("conditions")),
    )
    bands = data["resource_bands"]
    pct = tuple(float(p) for p in bands["percentiles"])
    if list(pct) != sorted(pct) or not all(0 < p < 100 for p in pct):
        raise ValueError("resource_bands.percentiles must increase within (0, 100)")
    names = tuple(str(n) for n in bands["names"])
    if len(names) != len(pct) + 2:
        raise ValueError("resource_bands.names needs one name per band (0 to last)")
    c = data["costs"]
    costs = Costs(
        inpatient_first_day=float(c["inpatient_first_day"]),
        inpatient_per_day=float(c["inpatient_per_day"]),
        day_hospital_access=float(c["day_hospital_access"]),
        emergency_by_triage={str(k): float(v) for k, v in c["emergency_by_triage"].items()},
        emergency_default=float(c["emergency_default"]),
        outpatient_default=float(c["outpatient_default"]),
    )
    return PyramidConfig(
        name=str(data.get("name", "risk pyramid")),
        version=str(data.get("version", "1")),
        levels=levels,
        kaiser=kaiser,
        frailty=frailty,
        band_percentiles=pct,
        band_names=names,
        costs=costs,
        origin=origin,
    )


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def parse_pyramid_text(text: str, origin: str) -> PyramidConfig:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{origin}: not valid YAML: {exc}") from exc
    return parse_pyramid(data, origin)


def default_pyramid_text() -> str:
    return resources.files(__package__).joinpath("pyramid.yaml").read_text(encoding="utf-8")


@cache
def default_pyramid() -> PyramidConfig:
    """BMB's default pyramid (``pyramid.yaml``)."""
    return parse_pyramid_text(default_pyramid_text(), "bmb/domain/stratification/pyramid.yaml")


__all__ = [
    "Costs",
    "Frailty",
    "KaiserTier",
    "Level",
    "PyramidConfig",
    "default_pyramid",
    "default_pyramid_text",
    "parse_pyramid",
    "parse_pyramid_text",
]
