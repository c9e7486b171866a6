"""Community care: outpatient services with lab results, and exemptions.

(Pharmacy dispensing is in :mod:`bmb.synth.pharmacy`.) Outpatient prescriptions bring lab
panels (with results whose values follow the person's conditions: HbA1c in diabetes,
creatinine in kidney disease) and specialist visits matching the conditions.
Exemptions are held by only part of those entitled, as in real registries.
"""

from __future__ import annotations

import numpy as np

from bmb.domain import vocab
from bmb.synth.calendar import period_end
from bmb.synth.health import Health, load_model

Table = dict[str, np.ndarray]


def _window(
    health: Health, start: np.datetime64, end: np.datetime64
) -> tuple[np.ndarray, np.ndarray]:
    lo = np.maximum(health.start_of, start)
    hi = np.minimum(health.end_of, end)
    return lo, hi


def outpatient(
    people: Table, health: Health, start: np.datetime64, years: int, seed: int, chunk: int
) -> Table:
    """Outpatient service lines: lab panels and specialist visits, one row per line."""
    rng = np.random.default_rng([seed, chunk, 6])
    services = vocab.outpatient_services()
    code_ix = {s.code: i for i, s in enumerate(services)}
    names = [c.condition for c in vocab.conditions()]
    end = period_end(start, years)
    lo, hi = _window(health, start, end)
    n = len(lo)
    span = np.maximum((hi - lo).astype(np.int64), 0)
    has = ~np.isnat(health.onset) & (health.onset < hi[:, None])
    col = {c: has[:, names.index(c)] for c in names}
    age = (lo - people["birth"]).astype(np.int64) / 365.25
    male = people["sex"] == 1
    n_cond = has.sum(axis=1)
    rx_who: list[np.ndarray] = []
    rx_day: list[np.ndarray] = []
    rx_lines: list[list[int]] = []
    # Lab panels.
    lab_rate = (
        np.where(age < 15, 0.2, 0.5)
        + 0.5 * (n_cond > 0)
        + 0.8 * (col["diabetes"] | col["ckd"] | col["heart_failure"])
    )
    k = rng.poisson(lab_rate * span / 365.25)
    who = np.repeat(np.arange(n), k)
    panels = _lab_panels(rng, who, col, male, age, code_ix)
    rx_who.append(who)
    rx_day.append(lo[who] + (rng.random(len(who)) * span[who]).astype("timedelta64[D]"))
    rx_lines += panels
    # Visits and exams, by condition.
    specific = (
        ("hypertension", ("89.7", "89.52"), 0.5),
        ("ihd", ("89.7", "89.52", "88.72.3"), 1.0),
        ("heart_failure", ("89.01", "88.72.3"), 1.2),
        ("atrial_fibrillation", ("89.01", "89.52"), 1.0),
        ("copd", ("89.7", "89.37.1"), 0.8),
        ("asthma", ("89.37.1",), 0.5),
        ("diabetes", ("95.02",), 0.6),
        ("stroke", ("89.13",), 0.8),
        ("dementia", ("89.13",), 0.6),
        ("parkinson", ("89.13",), 1.0),
        ("osteoporosis", ("88.99.2",), 0.4),
        ("hypothyroidism", ("88.71.4",), 0.5),
        ("osteoarthritis", ("89.7",), 0.3),
        ("cancer_colorectal", ("45.23", "88.76.1"), 0.8),
        ("cancer_breast", ("88.73.1", "87.37.1"), 0.8),
        ("cancer_lung", ("87.44.1", "89.01"), 1.0),
        ("cancer_prostate", ("89.01",), 0.8),
    )
    for cond, codes, rate in specific:
        k = rng.poisson(np.where(col[cond], rate * span / 365.25, 0))
        who = np.repeat(np.arange(n), k)
        rx_who.append(who)
        rx_day.append(lo[who] + (rng.random(len(who)) * span[who]).astype("timedelta64[D]"))
        rx_lines += [[code_ix[c] for c in codes]] * len(who)
    generic = ("89.7", "89.01", "88.76.1", "87.44.1", "89.26")
    k = rng.poisson(0.6 * span / 365.25)
    who = np.repeat(np.arange(n), k)
    pick = rng.integers(0, len(generic), size=len(who))
    female = ~male[who]
    pick = np.where((pick == 4) & ~female, 0, pick)
    rx_who.append(who)
    rx_day.append(lo[who] + (rng.random(len(who)) * span[who]).astype("timedelta64[D]"))
    rx_lines += [[code_ix[generic[p]]] for p in pick]
    # Breast screening for women 50-69, every two years.
    scr = ~male & (age >= 50) & (age < 70) & (rng.random(n) < 0.55 * span / 365.25 / 2)
    who = np.nonzero(scr)[0]
    rx_who.append(who)
    rx_day.append(lo[who] + (rng.random(len(who)) * span[who]).astype("timedelta64[D]"))
    rx_lines += [[code_ix["87.37.1"]]] * len(who)
    screening = np.concatenate(
        [np.zeros(sum(len(w) for w in rx_who[:-1]), bool), np.ones(len(who), bool)]
    )
    r_who = np.concatenate(rx_who)
    r_day = np.concatenate(rx_day).astype("datetime64[D]")
    n_lines = np.array([len(x) for x in rx_lines], dtype=np.int64)
    order = np.lexsort((r_who, r_day))
    line_rx = np.repeat(np.arange(len(r_who)), n_lines)
    flat = np.array([s for x in rx_lines for s in x], dtype=np.int64)
    line_no = np.arange(len(flat)) - np.repeat(np.cumsum(n_lines) - n_lines, n_lines) + 1
    # Renumber prescriptions in date order so that files read chronologically.
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    lorder = np.lexsort((line_no, rank[line_rx]))
    rxi = line_rx[lorder]
    return {
        "person": r_who[rxi],
        "day": r_day[rxi],
        "rx": rank[rxi],
        "line": line_no[lorder],
        "service": flat[lorder],
        "screening": screening[rxi],
    }


def _lab_panels(
    rng: np.random.Generator,
    who: np.ndarray,
    col: dict[str, np.ndarray],
    male: np.ndarray,
    age: np.ndarray,
    ix: dict[str, int],
) -> list[list[int]]:
    """Lines of each lab prescription: blood sampling plus up to 7 tests."""
    out: list[list[int]] = []
    u = rng.random((len(who), 6))
    for i, p in enumerate(who):
        tests = ["90.27.1", "90.62.2"]
        if col["diabetes"][p]:
            tests += ["90.28.1", "90.16.3"]
        if col["ckd"][p] or col["heart_failure"][p] or col["hypertension"][p]:
            tests += ["90.16.3", "90.37.4", "90.40.4"]
        if col["ihd"][p] or col["diabetes"][p] or col["stroke"][p] or u[i, 0] < 0.4:
            tests += ["90.14.3", "90.14.2", "90.14.1", "90.43.2"]
        if col["hypothyroidism"][p] or u[i, 1] < 0.1:
            tests.append("90.42.1")
        if u[i, 2] < 0.3:
            tests.append("90.04.5")
        if male[p] and age[p] >= 50 and (col["cancer_prostate"][p] or u[i, 3] < 0.3):
            tests.append("90.56.5")
        tests = list(dict.fromkeys(tests))[:7]
        out.append([ix["91.49.2"]] + [ix[t] for t in tests])
    return out


def lab_values(
    people: Table,
    health: Health,
    who: np.ndarray,
    day: np.ndarray,
    loinc: np.ndarray,
    seed: int,
    chunk: int,
) -> np.ndarray:
    """Result values of lab tests, shifted by the person's conditions."""
    rng = np.random.default_rng([seed, chunk, 7])
    tests = {t.loinc: t for t in vocab.lab_tests()}
    names = [c.condition for c in vocab.conditions()]
    has = ~np.isnat(health.onset[who]) & (health.onset[who] <= day[:, None])

    def c(name: str) -> np.ndarray:
        return np.asarray(has[:, names.index(name)])

    male = people["sex"][who] == 1
    z = rng.standard_normal(len(who))
    val = np.zeros(len(who))
    for code, t in tests.items():
        sel = loinc == code
        mid = (t.low + t.high) / 2 if t.low > 0 else t.high * 0.6
        sd = (t.high - t.low) / 5 if t.low > 0 else t.high * 0.2
        val[sel] = mid + sd * z[sel]
    shifts = {
        "59261-8": (c("diabetes"), 22.0, 9.0),
        "2345-7": (c("diabetes"), 55.0, 25.0),
        "2160-0": (c("ckd"), 0.9, 0.5),
        "2823-3": (c("ckd"), 0.4, 0.3),
        "3016-3": (c("hypothyroidism"), 2.5, 3.0),
        "2857-1": (c("cancer_prostate"), 6.0, 4.0),
        "2089-1": (c("ihd") | c("diabetes"), 15.0, 20.0),
    }
    for code, (mask, shift, spread) in shifts.items():
        sel = (loinc == code) & mask
        val[sel] += shift + spread * np.abs(rng.standard_normal(sel.sum()))
    val = np.where((loinc == "2160-0") & male, val + 0.15, val)
    val = np.where((loinc == "718-7") & male, val + 1.0, val)
    lo_clip = {k: (t.low * 0.3 if t.low > 0 else 0.01) for k, t in tests.items()}
    for code, floor in lo_clip.items():
        sel = loinc == code
        val[sel] = np.maximum(val[sel], floor)
    return val


def exemption_rows(
    people: Table, health: Health, start: np.datetime64, seed: int, chunk: int
) -> Table:
    """Exemptions held: one row per (person, condition) with an exemption code."""
    rng = np.random.default_rng([seed, chunk, 8])
    conds = vocab.conditions()
    codes = np.array([c.exemption for c in conds])
    model = load_model()
    del model
    who, j = np.nonzero(health.exempt & (codes != "")[None, :])
    delay = rng.exponential(200, size=len(who)).astype(np.int64).astype("timedelta64[D]")
    begin = health.onset[who, j] + delay
    keep = begin < health.end_of[who]
    who, j, begin = who[keep], j[keep], begin[keep]
    # Hypertension with organ damage when the heart or kidneys are involved.
    names = [c.condition for c in conds]
    code = codes[j].astype("U8")
    organ = (health.onset[who][:, [names.index("ihd"), names.index("ckd")]] <= begin[:, None]).any(
        axis=1
    )
    code = np.where((code == "0A31") & organ, "0031.401", code)
    icd = np.array([c.icd9cm for c in conds])[j]
    end = np.where(~np.isnat(health.death[who]), health.death[who], np.datetime64("NaT"))
    return {"person": who, "condition": j, "code": code, "icd": icd, "begin": begin, "end": end}
