"""Community-pharmacy dispensing (Flusso D): chronic regimens refilled on pharmacy days.

A person treated for a chronic condition takes a *regimen*: the condition's first-line
drug, often with add-ons (a second antihypertensive, a statin in diabetes), plus
gastroprotection and vitamin D where Italian prescribing puts them. Regimens are
refilled together on the person's pharmacy days, every month or, for part of the
patients, every two months with two packs per line, and each day's packs go on SSN
prescriptions (ricette) of at most two packs. Add occasional acute courses
(antibiotics, steroids). Counting *prescriptions*, not lines or packs, is what the
reference figure (about 10 SSN prescriptions per person a year, OsMed, reference
section 5) measures; about 1.7 packs per prescription follows from the pairing.
"""

from __future__ import annotations

import numpy as np

from bmb.domain import vocab
from bmb.synth.calendar import period_end
from bmb.synth.health import Health

Table = dict[str, np.ndarray]

ACUTE_ATC = ("J01CR02", "J01FA10", "J01MA02", "J01DD08", "H02AB07")
ACUTE_WEIGHTS = (0.4, 0.25, 0.1, 0.1, 0.15)
PPI_ATC = ("A02BC02", "A02BC05")
#: Share of people with a condition who are treated for it with drugs [M].
TREATED = {
    "hypertension": 0.85,
    "diabetes": 0.85,
    "depression": 0.6,
    "osteoarthritis": 0.3,
    "osteoporosis": 0.5,
    "asthma": 0.6,
}
TREATED_DEFAULT = 0.85
#: Chance of each further drug of the condition's list besides the first-line one [M].
ADD_ON = {"hypertension": 0.5, "heart_failure": 0.6, "ihd": 0.7, "diabetes": 0.35}
ADD_ON_DEFAULT = 0.3
#: Share of a regimen's refill days on which it is really dispensed (adherence) [M].
ADHERENCE = 0.9
#: Share of treated people refilling every two months with two packs a line [M].
TWO_MONTHLY = 0.2


def _window(
    health: Health, start: np.datetime64, end: np.datetime64
) -> tuple[np.ndarray, np.ndarray]:
    return np.maximum(health.start_of, start), np.minimum(health.end_of, end)


def _regimens(
    people: Table, health: Health, lo: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(person, drug, first day) of every chronic regimen, one per person and drug."""
    conds = vocab.conditions()
    di = {d.atc: i for i, d in enumerate(vocab.drugs())}
    n = len(lo)
    age = (lo - people["birth"]).astype(np.int64) / 365.25
    female = people["sex"] == 2
    who_l: list[np.ndarray] = []
    drug_l: list[np.ndarray] = []
    begin_l: list[np.ndarray] = []

    def add(mask: np.ndarray, drug: np.ndarray | int, begin: np.ndarray) -> None:
        rows = np.nonzero(mask)[0]
        who_l.append(rows)
        drug_l.append(np.broadcast_to(np.asarray(drug), (n,))[rows])
        begin_l.append(begin[rows])

    names = [c.condition for c in conds]
    for j, c in enumerate(conds):
        atc = [a for a in c.atc if a in di]
        if not atc:
            continue
        on = health.onset[:, j]
        treated = ~np.isnat(on) & (rng.random(n) < TREATED.get(c.condition, TREATED_DEFAULT))
        begin = np.maximum(lo, on)
        first = rng.integers(0, len(atc), size=n) * (rng.random(n) < 0.4)
        codes = np.array([di[a] for a in atc])
        add(treated, codes[first], begin)
        p_add = ADD_ON.get(c.condition, ADD_ON_DEFAULT)
        for k in range(len(atc)):
            add(treated & (first != k) & (rng.random(n) < p_add), codes[k], begin)
    has = ~np.isnat(health.onset)

    def cond(name: str) -> np.ndarray:
        return np.asarray(has[:, names.index(name)])

    # Statins and aspirin in primary prevention, vitamin D in older women [M].
    statin = (cond("diabetes") & (rng.random(n) < 0.5)) | (
        cond("hypertension") & (age >= 55) & (rng.random(n) < 0.3)
    )
    add(statin, np.where(rng.random(n) < 0.3, di["C10AA07"], di["C10AA05"]), lo)
    add(cond("diabetes") & (age >= 60) & (rng.random(n) < 0.3), di["B01AC06"], lo)
    add(female & (age >= 65) & (rng.random(n) < 0.25), di["A11CC05"], lo)
    who = np.concatenate(who_l)
    drug = np.concatenate(drug_l)
    begin = np.concatenate(begin_l).astype("datetime64[D]")
    # Gastroprotection with several drugs, or on its own after 50 [M].
    n_reg = np.bincount(who, minlength=n)
    ppi = ((n_reg >= 3) & (rng.random(n) < 0.5)) | ((age >= 50) & (rng.random(n) < 0.1))
    rows = np.nonzero(ppi)[0]
    who = np.concatenate([who, rows])
    drug = np.concatenate([drug, np.array([di[a] for a in PPI_ATC])[rng.integers(0, 2, len(rows))]])
    begin = np.concatenate([begin, lo[rows]])
    # One regimen per person and drug, from its earliest start.
    order = np.lexsort((begin, drug, who))
    who, drug, begin = who[order], drug[order], begin[order]
    keep = np.ones(len(who), dtype=bool)
    keep[1:] = (who[1:] != who[:-1]) | (drug[1:] != drug[:-1])
    return who[keep], drug[keep], begin[keep]


def dispensing(
    people: Table, health: Health, start: np.datetime64, years: int, seed: int, chunk: int
) -> Table:
    """Dispensed lines (one drug, one or two packs), grouped into prescriptions."""
    rng = np.random.default_rng([seed, chunk, 5])
    drugs = vocab.drugs()
    di = {d.atc: i for i, d in enumerate(drugs)}
    lo, hi = _window(health, start, period_end(start, years))
    n = len(lo)
    who, drug, begin = _regimens(people, health, lo, rng)
    # Pharmacy days: a cycle of 30 (or 60) days from a random phase, a few days' jitter.
    cycle = np.where(rng.random(n) < TWO_MONTHLY, 60, 30)
    phase = (rng.random(n) * cycle).astype(np.int64)
    span = np.maximum((hi - lo).astype(np.int64), 0)
    n_days = np.where(span > phase, (span - phase - 1) // cycle + 1, 0)
    treated = np.zeros(n, dtype=bool)
    treated[who] = True
    n_days = np.where(treated, n_days, 0)
    first_day = np.cumsum(n_days) - n_days
    k = np.arange(int(n_days.sum())) - np.repeat(first_day, n_days)
    owner = np.repeat(np.arange(n), n_days)
    jitter = rng.integers(-3, 4, size=len(k))
    offset = np.clip(phase[owner] + k * cycle[owner] + jitter, 0, np.maximum(span[owner] - 1, 0))
    pday = lo[owner] + offset.astype("timedelta64[D]")
    # Every regimen on each of its person's pharmacy days from its start, when adherent.
    per = n_days[who]
    r = np.repeat(np.arange(len(who)), per)
    idx = np.repeat(first_day[who], per) + (
        np.arange(int(per.sum())) - np.repeat(np.cumsum(per) - per, per)
    )
    day = pday[idx]
    ok = (day >= begin[r]) & (rng.random(len(r)) < ADHERENCE)
    c_who, c_drug, c_day = who[r][ok], drug[r][ok], day[ok]
    c_qty = np.where(cycle[c_who] == 60, 2, 1)
    # Acute courses: antibiotics and steroids, one pack on a day of their own.
    n_cond = (~np.isnat(health.onset)).sum(axis=1)
    acute = rng.poisson(span / 365.25 * (0.45 + 0.12 * n_cond))
    a_who = np.repeat(np.arange(n), acute)
    a_day = lo[a_who] + (rng.random(len(a_who)) * span[a_who]).astype("timedelta64[D]")
    pick = rng.choice(len(ACUTE_ATC), size=len(a_who), p=ACUTE_WEIGHTS)
    a_drug = np.array([di[a] for a in ACUTE_ATC])[pick]
    who = np.concatenate([c_who, a_who])
    day = np.concatenate([c_day, a_day]).astype("datetime64[D]")
    drug = np.concatenate([c_drug, a_drug])
    qty = np.concatenate([c_qty, np.ones(len(a_who), np.int64)])
    keep = (day >= lo[who]) & (day < hi[who])
    who, day, drug, qty = who[keep], day[keep], drug[keep], qty[keep]
    return _prescriptions(rng, who, day, drug, qty, np.array([d.price for d in drugs]))


def _prescriptions(
    rng: np.random.Generator,
    who: np.ndarray,
    day: np.ndarray,
    drug: np.ndarray,
    qty: np.ndarray,
    prices: np.ndarray,
) -> Table:
    """Group a person's lines of one day into prescriptions of at most two packs.

    A two-pack line fills a prescription by itself; one-pack lines go in pairs.
    """
    order = np.lexsort((drug, -qty, day, who))
    who, day, drug, qty = who[order], day[order], drug[order], qty[order]
    m = len(who)
    new_day = np.ones(m, dtype=bool)
    new_day[1:] = (who[1:] != who[:-1]) | (day[1:] != day[:-1])
    single = qty == 1
    # Position of each one-pack line among the one-pack lines of its day.
    cum = np.cumsum(single)
    day_start = np.maximum.accumulate(np.where(new_day, np.arange(m), 0))
    before = cum[day_start] - single[day_start]
    pos = cum - 1 - before
    new_rx = new_day | ~single | (single & (pos % 2 == 0))
    rx = np.cumsum(new_rx) - 1
    first = np.nonzero(new_rx)[0]
    line = np.arange(m) - np.repeat(first, np.diff(np.append(first, m))) + 1
    presc = (day - rng.integers(0, 20, size=m).astype("timedelta64[D]"))[first][rx]
    return {
        "person": who,
        "day": day,
        "prescribed": presc.astype("datetime64[D]"),
        "drug": drug,
        "rx": rx,
        "line": line,
        "qty": qty,
        "price": prices[drug],
    }
