"""Chronic-condition rules in the manner of the Italian *banca dati assistito* (BDA).

A BDA flags a resident as having a chronic condition when any of several sources says
so (OR logic): a disease exemption, repeated dispensing of the drugs that treat it, a
hospital or emergency diagnosis, sometimes a lab result, each looked for over its own
look-back window before the reference date. The rules are a steward's to read and
change, so they are data (a YAML file), and this module turns that file into frozen
values, naming the file, condition and field of anything wrong.

The YAML form (see ``bda.yaml``, the default)::

    conditions:
      diabetes:
        label: Diabetes mellitus
        group: metabolic
        criteria:
          - {source: exemption, codes: ["013"]}
          - {source: pharmacy, atc: [A10], min_count: 2, lookback_years: 1}
          - {source: hospital, icd9cm: ["250"], lookback_years: 5}
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bmb.domain.errors import ConfigError


class Source(StrEnum):
    """Where evidence of a condition comes from, and the CDM rows that carry it."""

    EXEMPTION = "exemption"  # observation, observation_source_value = exemption code
    PHARMACY = "pharmacy"  # drug_exposure, ATC class via concept_ancestor
    HOSPITAL = "hospital"  # condition_occurrence in inpatient visits (9201)
    EMERGENCY = "emergency"  # condition_occurrence in ER visits (9203)
    LAB = "lab"  # measurement with value_as_number, LOINC coded


class Position(StrEnum):
    """Which diagnoses of a record count: only the principal one, or any."""

    PRINCIPAL = "principal"
    ANY = "any"


@dataclass(frozen=True, slots=True)
class Criterion:
    """One source's rule: codes, how many records, over which window before the reference.

    ``lookback_days`` None with ``active_at_reference`` (exemptions): the exemption must
    be in force on the reference date, however old. ``unless``: the criterion is ignored
    for a person who has one of these conditions on their own specific evidence (the
    BDA hierarchy: antihypertensives do not make hypertension in a heart-failure patient).
    """

    source: Source
    codes: tuple[str, ...]  # exemption codes / ATC classes / ICD codes / LOINC codes
    icd9cm: tuple[str, ...] = ()  # diagnosis prefixes (hospital, emergency, exemption)
    icd10: tuple[str, ...] = ()
    min_count: int = 1  # records on distinct days
    min_span_days: int = 0  # first to last counted record at least this far apart
    lookback_days: int | None = 365
    active_at_reference: bool = False
    position: Position = Position.ANY
    above: float | None = None  # lab: value >= above
    below: float | None = None  # lab: value < below
    age_min: int | None = None
    age_max: int | None = None
    unless: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """A short human description, for tables (``pharmacy A10 x2 / 365d``)."""
        codes = " ".join(self.codes or self.icd9cm or self.icd10)
        if self.source is Source.EXEMPTION and self.icd9cm:
            codes += f" ({' '.join(self.icd9cm)})"
        count = f" x{self.min_count}" if self.min_count > 1 else ""
        window = "active" if self.active_at_reference else f"{self.lookback_days}d"
        return f"{self.source.value} {codes}{count} / {window}"


@dataclass(frozen=True, slots=True)
class ConditionRule:
    """A chronic condition: its name, label, group and the criteria any one of which flags it."""

    name: str
    label: str
    group: str
    criteria: tuple[Criterion, ...]
    sex: str | None = None  # "F" or "M" when the condition exists in one sex only
    age_min: int | None = None


@dataclass(frozen=True, slots=True)
class RuleSet:
    """The registry's rules: the conditions in priority order and where they came from."""

    name: str
    version: str
    conditions: tuple[ConditionRule, ...]
    origin: str

    def condition(self, name: str) -> ConditionRule:
        for c in self.conditions:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.conditions)

    @property
    def max_lookback_days(self) -> int:
        """The longest window any criterion looks back (exemptions in force: 0)."""
        return max((k.lookback_days or 0 for c in self.conditions for k in c.criteria), default=0)


_CODE_KEYS = {
    Source.EXEMPTION: "codes",
    Source.PHARMACY: "atc",
    Source.LAB: "loinc",
}
_ALLOWED = {
    "source",
    "codes",
    "atc",
    "loinc",
    "icd9cm",
    "icd10",
    "min_count",
    "min_span_days",
    "lookback_years",
    "lookback_days",
    "active_at_reference",
    "position",
    "above",
    "below",
    "age_min",
    "age_max",
    "unless",
}


def parse_rules(data: Any, origin: str) -> RuleSet:
    """Rules from the parsed YAML ``data``; ``origin`` names the file in error messages."""
    if not isinstance(data, Mapping) or not isinstance(data.get("conditions"), Mapping):
        raise ConfigError(f"{origin}: a rules file needs a 'conditions' mapping")
    conditions = tuple(
        _condition(str(name), spec, f"{origin}: condition {name}")
        for name, spec in data["conditions"].items()
    )
    names = {c.name for c in conditions}
    for cond in conditions:
        for k in cond.criteria:
            unknown = [u for u in k.unless if u not in names]
            if unknown:
                raise ConfigError(
                    f"{origin}: condition {cond.name}: 'unless' names unknown conditions {unknown}",
                    hint=f"known: {', '.join(sorted(names))}",
                )
    if not conditions:
        raise ConfigError(f"{origin}: no conditions")
    return RuleSet(
        name=str(data.get("name", "chronic-condition registry")),
        version=str(data.get("version", "1")),
        conditions=conditions,
        origin=origin,
    )


def _condition(name: str, spec: Any, where: str) -> ConditionRule:
    if not name.isidentifier() or name != name.lower():
        raise ConfigError(f"{where}: names are lower-case identifiers (letters, digits, _)")
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{where}: expected a mapping with 'label' and 'criteria'")
    raw = spec.get("criteria")
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{where}: 'criteria' must be a non-empty list")
    sex = spec.get("sex")
    if sex not in (None, "F", "M"):
        raise ConfigError(f"{where}: sex must be F or M, not {sex!r}")
    return ConditionRule(
        name=name,
        label=str(spec.get("label", name)),
        group=str(spec.get("group", "")),
        criteria=tuple(_criterion(c, f"{where}, criterion {i + 1}") for i, c in enumerate(raw)),
        sex=sex,
        age_min=_int(spec.get("age_min"), where, "age_min"),
    )


def _criterion(spec: Any, where: str) -> Criterion:
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{where}: expected a mapping with a 'source'")
    extra = set(spec) - _ALLOWED
    if extra:
        raise ConfigError(f"{where}: unknown fields {sorted(extra)}")
    try:
        source = Source(str(spec.get("source")))
    except ValueError:
        raise ConfigError(
            f"{where}: source must be one of {', '.join(s.value for s in Source)}"
        ) from None
    key = _CODE_KEYS.get(source)
    codes = _codes(spec.get(key), where, key) if key else ()
    icd9 = _codes(spec.get("icd9cm"), where, "icd9cm")
    icd10 = _codes(spec.get("icd10"), where, "icd10")
    if key and not codes:
        raise ConfigError(f"{where}: a {source.value} criterion needs '{key}'")
    if source in (Source.HOSPITAL, Source.EMERGENCY) and not (icd9 or icd10):
        raise ConfigError(f"{where}: a {source.value} criterion needs 'icd9cm' or 'icd10'")
    active = bool(spec.get("active_at_reference", source is Source.EXEMPTION))
    lookback = _lookback(spec, where)
    if lookback is None and not active:
        raise ConfigError(f"{where}: give lookback_years or lookback_days")
    above, below = _float(spec.get("above"), where), _float(spec.get("below"), where)
    if source is Source.LAB and above is None and below is None:
        raise ConfigError(f"{where}: a lab criterion needs 'above' or 'below'")
    try:
        position = Position(spec.get("position", "any"))
    except ValueError:
        raise ConfigError(f"{where}: position must be 'principal' or 'any'") from None
    min_count = _int(spec.get("min_count", 1), where, "min_count") or 1
    return Criterion(
        source=source,
        codes=codes,
        icd9cm=icd9,
        icd10=icd10,
        min_count=max(1, min_count),
        min_span_days=_int(spec.get("min_span_days", 0), where, "min_span_days") or 0,
        lookback_days=lookback,
        active_at_reference=active,
        position=position,
        above=above,
        below=below,
        age_min=_int(spec.get("age_min"), where, "age_min"),
        age_max=_int(spec.get("age_max"), where, "age_max"),
        unless=_codes(spec.get("unless"), where, "unless", upper=False),
    )


def _lookback(spec: Mapping[str, Any], where: str) -> int | None:
    years, days = spec.get("lookback_years"), spec.get("lookback_days")
    if years is not None and days is not None:
        raise ConfigError(f"{where}: give lookback_years or lookback_days, not both")
    if years is not None:
        value = _float(years, where)
        if value is None or value <= 0:
            raise ConfigError(f"{where}: lookback_years must be positive")
        return math.floor(value * 365.25 + 0.5)
    return _int(days, where, "lookback_days")


def _codes(value: Any, where: str, key: str | None, *, upper: bool = True) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    out = tuple(str(v).strip().upper() if upper else str(v).strip() for v in items)
    if any(not v or "'" in v or "%" in v for v in out):
        raise ConfigError(f"{where}: '{key}' holds an empty or invalid code")
    return out


def _int(value: Any, where: str, key: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{where}: {key} must be a whole number, not {value!r}")
    return value


def _float(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where}: expected a number, not {value!r}")
    return float(value)
