"""A region's health organisation: provinces, ASLs, districts, comuni, hospitals.

Planners read every indicator by health district (distretto sociosanitario) and local
health authority (ASL). The CDM knows a resident only by comune (``person.location_id``
is the ISTAT comune code), so BMB needs the comune-to-district map, and it must be the
same map the synthetic region draws residents from. It lives here, as data shipped in
the package (``regions/<name>.yaml`` and the frozen ISTAT list ``<name>_comuni.csv``,
ADR 0002), so a region is a configuration file, not code.

A large comune can be split over several districts by street (Genova over six). A
resident known only by comune cannot be placed in one of them, so those districts are
reported together as one *reporting unit* (:meth:`Region.reporting_units`): honest
numbers for a coarser area rather than a made-up split.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from bmb.domain.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Province:
    istat: str  # 3 digits
    abbr: str
    name: str
    population: int


@dataclass(frozen=True, slots=True)
class Asl:
    """A local health authority (Azienda Sanitaria Locale)."""

    code: str
    name: str
    area: str


@dataclass(frozen=True, slots=True)
class District:
    """A health district of an ASL."""

    code: str
    name: str
    asl: str


@dataclass(frozen=True, slots=True)
class Hospital:
    code: str  # HSP11, 6 characters (care_site_source_value)
    name: str
    asl: str
    beds: int
    paediatric: bool


@dataclass(frozen=True, slots=True)
class Comune:
    """A comune of the region and the districts its residents belong to."""

    istat: str  # 6 digits; person.location_id is its integer value
    name: str
    province: str  # province ISTAT code
    belfiore: str  # cadastral code, used in fiscal codes
    cap: str
    population: float  # residents (approximate where the YAML does not list it [M])
    districts: tuple[tuple[str, float], ...]  # (district code, share of residents)

    @property
    def location_id(self) -> int:
        return int(self.istat)


@dataclass(frozen=True, slots=True)
class ReportingUnit:
    """The finest area a comune-level residence can be reported by.

    Usually one district; districts that share a split comune form one unit together.
    """

    code: str  # the district code, or "008-013" for a group
    name: str
    asl: str
    districts: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Region:
    """A region's organisation and demography, as configured."""

    name: str
    title: str
    istat_region: str
    region_code: str
    population: int
    provinces: tuple[Province, ...]
    asls: tuple[Asl, ...]
    districts: tuple[District, ...]
    hospitals: tuple[Hospital, ...]
    comuni: tuple[Comune, ...]
    age_percent: tuple[float, ...]  # residents by 5-year band, last band open
    male_share: tuple[float, ...]
    raw: dict[str, Any]  # the whole YAML, for settings this module does not type

    def district(self, code: str) -> District:
        for d in self.districts:
            if d.code == code:
                return d
        raise KeyError(code)

    def asl(self, code: str) -> Asl:
        for a in self.asls:
            if a.code == code:
                return a
        raise KeyError(code)

    def reporting_units(self) -> dict[str, ReportingUnit]:
        """Each comune's reporting unit, by comune ISTAT code."""
        parent = {d.code: d.code for d in self.districts}

        def find(x: str) -> str:
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for c in self.comuni:
            codes = [d for d, _ in c.districts]
            for other in codes[1:]:
                parent[find(other)] = find(codes[0])
        groups: dict[str, list[str]] = {}
        for d in self.districts:
            groups.setdefault(find(d.code), []).append(d.code)
        units: dict[str, ReportingUnit] = {}
        for members in groups.values():
            members.sort()
            first = self.district(members[0])
            if len(members) == 1:
                unit = ReportingUnit(first.code, first.name, first.asl, (first.code,))
            else:
                split = [
                    c.name
                    for c in self.comuni
                    if len(c.districts) > 1 and {d for d, _ in c.districts} <= set(members)
                ]
                where = " and ".join(split)
                code = f"{members[0]}-{members[-1]}"
                unit = ReportingUnit(code, f"{where} (districts {code})", first.asl, tuple(members))
            for m in members:
                units[m] = unit
        return {c.istat: units[c.districts[0][0]] for c in self.comuni}


def available_regions() -> list[str]:
    """Names of the regions shipped in the package."""
    files = resources.files(__package__)
    return sorted(p.name.removesuffix(".yaml") for p in files.iterdir() if p.name.endswith(".yaml"))


@cache
def load_region(name: str = "liguria") -> Region:
    """Read ``<name>.yaml`` and its comuni list; raise :class:`ConfigError` when invalid."""
    base = resources.files(__package__)
    path = base.joinpath(f"{name}.yaml")
    if not path.is_file():
        raise ConfigError(
            f"unknown region {name!r}", hint=f"choose one of: {', '.join(available_regions())}"
        )
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        comuni_text = base.joinpath(f"{name}_comuni.csv").read_text(encoding="utf-8")
        return _build(raw, list(csv.DictReader(io.StringIO(comuni_text))))
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"regions/{name}.yaml: invalid region file: {exc}") from exc


def _build(raw: dict[str, Any], istat: list[dict[str, str]]) -> Region:
    provinces = tuple(
        Province(str(p["istat"]), str(p["abbr"]), str(p["name"]), int(p["population"]))
        for p in raw["provinces"]
    )
    by_name = {r["name"]: r for r in istat}
    if not by_name:
        raise ValueError("no comuni in the ISTAT list")
    population = _comune_population(raw, provinces, by_name)
    asls: list[Asl] = []
    districts: list[District] = []
    assigned: dict[str, list[tuple[str, float]]] = {}
    default_of_province: dict[str, str] = {}
    for a in raw["asls"]:
        asl = Asl(str(a["code"]), str(a["name"]), str(a.get("area", "")))
        asls.append(asl)
        for d in a["districts"]:
            dist = District(str(d["code"]), str(d["name"]), asl.code)
            districts.append(dist)
            listed = [(c, 1.0) for c in d.get("comuni") or []]
            listed += [(c, float(s)) for c, s in (d.get("shares") or {}).items()]
            for cname, share in listed:
                if cname not in by_name:
                    raise ValueError(f"district {dist.name}: {cname!r} is not a comune")
                assigned.setdefault(cname, []).append((dist.code, share))
            if d.get("default"):
                for prov in a.get("provinces") or []:
                    default_of_province[str(prov)] = dist.code
    comuni: list[Comune] = []
    for r in istat:
        targets = assigned.get(r["name"])
        if not targets:
            if r["province"] not in default_of_province:
                raise ValueError(f"comune {r['name']!r}: no district and no default")
            targets = [(default_of_province[r["province"]], 1.0)]
        total = sum(s for _, s in targets)
        comuni.append(
            Comune(
                istat=r["istat"],
                name=r["name"],
                province=r["province"],
                belfiore=r["belfiore"],
                cap=r["cap"],
                population=population[r["name"]],
                districts=tuple((code, share / total) for code, share in targets),
            )
        )
    hospitals = tuple(
        Hospital(
            str(h["code"]),
            str(h["name"]),
            str(h["asl"]),
            int(h["beds"]),
            bool(h.get("paediatric", False)),
        )
        for h in raw["hospitals"]
    )
    ages = raw["age_structure"]
    if len(ages["percent"]) != len(ages["male_share"]):
        raise ValueError("age_structure: percent and male_share differ in length")
    return Region(
        name=str(raw["name"]),
        title=str(raw["title"]),
        istat_region=str(raw["istat_region"]),
        region_code=str(raw["region_code"]),
        population=int(raw["population"]),
        provinces=provinces,
        asls=tuple(asls),
        districts=tuple(districts),
        hospitals=hospitals,
        comuni=tuple(comuni),
        age_percent=tuple(float(x) for x in ages["percent"]),
        male_share=tuple(float(x) for x in ages["male_share"]),
        raw=raw,
    )


def _comune_population(
    raw: dict[str, Any], provinces: tuple[Province, ...], by_name: dict[str, dict[str, str]]
) -> dict[str, float]:
    """Listed comuni keep their figure; each province's rest is spread evenly (ADR 0007)."""
    known: dict[str, float] = {}
    for cname, residents in (raw.get("comune_population") or {}).items():
        if cname not in by_name:
            raise ValueError(f"comune_population: {cname!r} is not a comune of the region")
        known[cname] = float(residents)
    pop: dict[str, float] = {}
    for prov in provinces:
        names = [n for n, r in by_name.items() if r["province"] == prov.istat]
        rest = [n for n in names if n not in known]
        remaining = prov.population - sum(known.get(n, 0.0) for n in names)
        if remaining < 0:
            raise ValueError(f"province {prov.name}: listed comuni exceed its population")
        for n in names:
            pop[n] = known[n] if n in known else remaining / max(len(rest), 1)
    return pop


__all__ = [
    "Asl",
    "Comune",
    "District",
    "Hospital",
    "Province",
    "Region",
    "ReportingUnit",
    "available_regions",
    "load_region",
]
