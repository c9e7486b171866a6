"""Chronic conditions, frailty, death and the yearly risks that drive care.

Each person has a latent frailty ``z ~ N(0, 1)``. A condition is present when a
liability ``sqrt(r) z + sqrt(1 - r) e`` passes the threshold that gives the age- and
sex-specific prevalence, so conditions cluster in frail people while each marginal
prevalence stays exactly on target (a liability-threshold model, ADR 0008). New cases
each year follow the same model with incidence derived from the prevalence curve;
each new condition raises frailty. Death and unplanned-admission risks multiply a
baseline by age and sex with the conditions' and frailty's effects, normalized within
age bands so that the baseline (calibrated to the region) is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from statistics import NormalDist
from typing import Any

import numpy as np
import yaml

from bmb.domain import vocab
from bmb.synth.calendar import period_end, year_bounds

Table = dict[str, np.ndarray]
MIDPOINTS = np.array([7.0, 30.0, 55.0, 70.0, 80.0, 90.0])
BAND_EDGES = np.array([15, 45, 65, 75, 85])
MAX_AGE = 111


@dataclass(frozen=True, slots=True)
class HealthModel:
    """The calibrated model (``data/health.yaml``) as arrays by condition and age."""

    names: tuple[str, ...]
    prevalence: np.ndarray  # (2 sexes, MAX_AGE ages, C)
    incidence: np.ndarray  # (2, MAX_AGE, C)
    z_prev: np.ndarray  # probit of prevalence (2, MAX_AGE, C)
    z_inc: np.ndarray
    hr_death: np.ndarray  # (C,)
    rr_admit: np.ndarray
    exemption: np.ndarray  # (C,) chance of holding the exemption
    loading: float
    frailty_hr_death: float
    frailty_rr_admit: float
    mortality: dict[str, Any]
    admissions: np.ndarray  # (6 bands,)
    ed_visits: np.ndarray
    ed_admitted: float
    death_in_hospital: float


def band_of(age: np.ndarray) -> np.ndarray:
    """Index of the prevalence age band (0-14, 15-44, 45-64, 65-74, 75-84, 85+)."""
    return np.searchsorted(BAND_EDGES, age, side="right")


def phi(x: np.ndarray) -> np.ndarray:
    """Standard normal CDF (logistic approximation, error < 2e-4)."""
    return 1.0 / (1.0 + np.exp(-(1.5976 * x + 0.070566 * x**3)))


def _probit(p: np.ndarray) -> np.ndarray:
    nd = NormalDist()
    clipped = np.clip(p, 1e-9, 1 - 1e-9)
    return np.asarray(np.vectorize(nd.inv_cdf)(clipped))


@cache
def load_model() -> HealthModel:
    raw = yaml.safe_load(
        resources.files(__package__).joinpath("data", "health.yaml").read_text(encoding="utf-8")
    )
    names = tuple(c.condition for c in vocab.conditions())
    ages = np.arange(MAX_AGE, dtype=np.float64)
    prev = np.zeros((2, MAX_AGE, len(names)))
    for j, name in enumerate(names):
        spec = raw["conditions"][name]
        for s, key in enumerate(("male", "female")):
            prev[s, :, j] = np.interp(ages, MIDPOINTS, np.asarray(spec[key], dtype=np.float64))
    slope = np.maximum(np.diff(prev, axis=1, append=prev[:, -1:, :]), 0.0)
    inc = slope / np.maximum(1 - prev, 1e-6) + raw["turnover"] * prev
    inc = np.clip(inc, 0.0, 0.5)
    spec_of = [raw["conditions"][n] for n in names]
    return HealthModel(
        names=names,
        prevalence=prev,
        incidence=inc,
        z_prev=_probit(prev),
        z_inc=_probit(inc),
        hr_death=np.array([s["hr_death"] for s in spec_of], dtype=np.float64),
        rr_admit=np.array([s["rr_admit"] for s in spec_of], dtype=np.float64),
        exemption=np.array([s["exemption"] for s in spec_of], dtype=np.float64),
        loading=float(raw["frailty_loading"]),
        frailty_hr_death=float(raw["frailty_hr_death"]),
        frailty_rr_admit=float(raw["frailty_rr_admit"]),
        mortality=dict(raw["mortality"]),
        admissions=np.asarray(raw["admissions"], dtype=np.float64),
        ed_visits=np.asarray(raw["ed_visits"], dtype=np.float64),
        ed_admitted=float(raw["ed_admitted"]),
        death_in_hospital=float(raw["death_in_hospital"]),
    )


def _liability_prob(z_thr: np.ndarray, frailty: np.ndarray, loading: float) -> np.ndarray:
    """P(liability over threshold | frailty): keeps the marginal equal to phi(z_thr)."""
    return phi((z_thr + np.sqrt(loading) * frailty[:, None]) / np.sqrt(1 - loading))


def _q_death(model: HealthModel, age: np.ndarray, female: np.ndarray) -> np.ndarray:
    m = model.mortality
    a = np.where(female, m["female"]["a"], m["male"]["a"])
    b = np.where(female, m["female"]["b"], m["male"]["b"])
    q = np.exp(a + b * (age - 80.0))
    q = np.where(age < 1, m["infant"], np.maximum(q, m["floor"]))
    return np.asarray(np.minimum(q, m["cap"]))


def _normalize(mult: np.ndarray, group: np.ndarray, at_risk: np.ndarray) -> np.ndarray:
    """Divide a multiplier by its mean within each group of people at risk."""
    g = np.where(at_risk, group, 0)
    sums = np.bincount(g, weights=np.where(at_risk, mult, 0.0))
    counts = np.bincount(g, weights=at_risk.astype(np.float64))
    mean = np.where(counts > 0, sums / np.maximum(counts, 1), 1.0)
    return mult / np.where(mean[g] > 0, mean[g], 1.0)


def _calibrated(
    base: np.ndarray, lin: np.ndarray, group: np.ndarray, at_risk: np.ndarray
) -> np.ndarray:
    """Yearly probabilities shifted by a linear predictor, keeping each group's mean.

    ``logit(q) = logit(base) + lin - c_group``, with ``c_group`` solved (Newton) so that
    the mean of ``q`` over the group's people at risk equals the mean of ``base``.
    Multiplying ``base`` by a normalized ``exp(lin)`` instead, as an earlier version
    did, needs a cap at 1 that the frailest old people hit, which lost a third of the
    deaths at 90.
    """
    g = np.where(at_risk, group, 0)
    w = at_risk.astype(np.float64)
    size = int(g.max()) + 1 if len(g) else 1
    target = np.bincount(g, weights=base * w, minlength=size)
    p = np.clip(base, 1e-9, 1 - 1e-9)
    logit = np.log(p / (1 - p)) + lin
    c = np.zeros(size)
    counts = np.bincount(g, weights=w, minlength=size)
    mean_lin = np.bincount(g, weights=lin * w, minlength=size) / np.maximum(counts, 1)
    c[:] = mean_lin
    for _ in range(30):
        q = 1 / (1 + np.exp(-(logit - c[g])))
        f = np.bincount(g, weights=q * w, minlength=size) - target
        slope = np.bincount(g, weights=q * (1 - q) * w, minlength=size)
        step = np.where(slope > 0, f / np.maximum(slope, 1e-12), 0.0)
        c += np.clip(step, -5, 5)
        if np.abs(step).max() < 1e-7:
            break
    return np.asarray(1 / (1 + np.exp(-(logit - c[g]))))


@dataclass(frozen=True, slots=True)
class Health:
    """The simulated health of a chunk's people."""

    frailty: np.ndarray  # at the start (or entry)
    onset: np.ndarray  # (n, C) datetime64[D], NaT when never
    death: np.ndarray  # datetime64[D], NaT when alive at the end
    start_of: np.ndarray  # first day observed: max(entry, start)
    end_of: np.ndarray  # day after the last day observed: min(leave, death, end)
    risk_death: np.ndarray  # (n, years) yearly probability of death
    risk_admit: np.ndarray  # (n, years) expected unplanned admissions
    risk_ed: np.ndarray  # (n, years) expected ED visits
    exempt: np.ndarray  # (n, C) bool: holds the condition's exemption


def simulate(people: Table, start: np.datetime64, years: int, seed: int, chunk: int) -> Health:
    """Run the health model over the years for one chunk."""
    model = load_model()
    rng = np.random.default_rng([seed, chunk, 3])
    n = len(people["pid"])
    c = len(model.names)
    female = people["sex"] == 2
    s_idx = female.astype(np.int64)
    z = rng.standard_normal(n)
    z0 = z.copy()
    end = period_end(start, years)
    first = np.maximum(people["entry"], start)
    age_first = (first - people["birth"]).astype(np.int64) / 365.25
    ai = np.clip(age_first.astype(np.int64), 0, MAX_AGE - 1)
    # Prevalent conditions at the first observed day.
    p = _liability_prob(model.z_prev[s_idx, ai], z, model.loading)
    has = rng.random((n, c)) < p
    onset = np.full((n, c), np.datetime64("NaT"), dtype="datetime64[D]")
    dur = rng.random((n, c)) * np.minimum(age_first, 25.0)[:, None] * 365.25
    prev_onset = first[:, None] - dur.astype("timedelta64[D]")
    onset[has] = prev_onset[has]
    death = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    leave = people["leave"]
    # A mother lives at least until her baby is born.
    must_live = np.full(n, np.datetime64("1900-01-01"), dtype="datetime64[D]")
    moms = people["mother"]
    if (moms >= 0).any():
        np.maximum.at(must_live, moms[moms >= 0], people["birth"][moms >= 0])
    risk_death = np.zeros((n, years))
    risk_admit = np.zeros((n, years))
    risk_ed = np.zeros((n, years))
    for y in range(years):
        y0, y1 = year_bounds(start, y)
        lo = np.maximum(first, y0)
        hi = np.minimum(np.where(np.isnat(leave), y1, np.minimum(leave, y1)), y1)
        alive = np.isnat(death) & (lo < hi)
        frac = np.where(alive, (hi - lo).astype(np.int64) / 365.25, 0.0)
        age = ((lo + (hi - lo) // 2) - people["birth"]).astype(np.int64) / 365.25
        ai = np.clip(age.astype(np.int64), 0, MAX_AGE - 1)
        has = ~np.isnat(onset) & (onset < lo[:, None])
        # New cases this year.
        p_inc = _liability_prob(model.z_inc[s_idx, ai], z, model.loading) * frac[:, None]
        new = alive[:, None] & ~has & (rng.random((n, c)) < p_inc)
        when = lo[:, None] + (rng.random((n, c)) * (hi - lo).astype(np.int64)[:, None]).astype(
            "timedelta64[D]"
        )
        onset[new] = when[new]
        z = z + 0.15 * new.sum(axis=1)
        has = ~np.isnat(onset) & (onset < hi[:, None])
        group = band_of(age) * 2 + s_idx + 100 * np.minimum(ai // 5, 22)
        lin_d = has @ model.hr_death + model.frailty_hr_death * z
        q = _calibrated(_q_death(model, age, female), lin_d, group, alive)
        mult_a = np.exp(has @ model.rr_admit + model.frailty_rr_admit * z)
        norm_a = _normalize(mult_a, group, alive)
        b = band_of(age)
        risk_death[:, y] = np.where(alive, q, 0.0)
        risk_admit[:, y] = np.where(alive, model.admissions[b] * norm_a, 0.0)
        risk_ed[:, y] = np.where(alive, model.ed_visits[b] * np.sqrt(norm_a), 0.0)
        dies = alive & (rng.random(n) < 1 - (1 - q) ** frac)
        # Never on the first observed day: whoever is observed is observed alive.
        days = (hi - lo).astype(np.int64)
        ddate = lo + (1 + rng.random(n) * np.maximum(days - 1, 0)).astype("timedelta64[D]")
        dies &= (ddate > must_live) & (ddate < hi)
        death[dies] = ddate[dies]
    stop = np.where(np.isnat(leave), end, np.minimum(leave, end))
    stop = np.where(np.isnat(death), stop, np.minimum(stop, death))
    # Conditions with an onset after the person left or died never happened.
    onset[onset >= stop[:, None]] = np.datetime64("NaT")
    exempt = ~np.isnat(onset) & (rng.random((n, c)) < model.exemption[None, :])
    return Health(
        frailty=z0,
        onset=onset,
        death=death,
        start_of=first,
        end_of=stop,
        risk_death=risk_death,
        risk_admit=risk_admit,
        risk_ed=risk_ed,
        exempt=exempt,
    )
