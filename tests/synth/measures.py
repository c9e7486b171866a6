"""Rates and prevalences measured on a generated region, as an analyst would.

Counts come from the flows themselves (records of each layout); denominators and
conditions from the ground truth (``truth/persons.parquet``), which holds each
resident's observed period and the onset of each modelled condition. Prevalences are
directly standardized to Italy's age structure, because the calibration figures of
reference section 5 are for Italy while the region (Liguria) is older.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bmb.domain import vocab
from tests.synth.conftest import Region

#: Italy's residents by 5-year age band (0-4 ... 80-84, 85+), % on 1/1/2024 [M, after ISTAT].
ITALY_AGE_PERCENT = np.array(
    [3.7, 4.3, 4.7, 4.8, 4.9, 5.2, 5.5, 5.9, 6.6, 7.6, 8.0, 8.0, 7.1, 6.1, 5.6, 4.9, 3.9, 3.8]
)


@dataclass(frozen=True)
class Population:
    """Residents observed on a reference day: age (years) and conditions held."""

    age: np.ndarray
    conditions: np.ndarray  # (n, C) bool
    names: tuple[str, ...]

    def has(self, name: str) -> np.ndarray:
        return np.asarray(self.conditions[:, self.names.index(name)])


def person_years(region: Region) -> float:
    """Observed person-time of the whole run, in years."""
    t = pq.read_table(region.out / "truth" / "persons.parquet")
    start = t["observed_from"].to_numpy().astype("datetime64[D]")
    stop = t["observed_to"].to_numpy().astype("datetime64[D]")
    return float(np.maximum((stop - start).astype(np.int64), 0).sum() / 365.25)


def on_day(region: Region, day: str) -> Population:
    """Residents observed on ``day`` with the conditions they had by then."""
    t = pq.read_table(region.out / "truth" / "persons.parquet")
    ref = np.datetime64(day)
    start = t["observed_from"].to_numpy().astype("datetime64[D]")
    stop = t["observed_to"].to_numpy().astype("datetime64[D]")
    here = (start <= ref) & (stop > ref)
    birth = t["birth_date"].to_numpy().astype("datetime64[D]")[here]
    names = tuple(c.condition for c in vocab.conditions())
    cols = []
    for name in names:
        onset = t[f"onset_{name}"].to_numpy().astype("datetime64[D]")[here]
        cols.append(~np.isnat(onset) & (onset <= ref))
    age = (ref - birth).astype(np.int64) / 365.25
    return Population(age, np.stack(cols, axis=1), names)


def standardized(pop: Population, flag: np.ndarray, min_age: float = 0.0) -> float:
    """Share with ``flag`` standardized to Italy's age structure (5-year bands)."""
    band = np.minimum((pop.age // 5).astype(np.int64), len(ITALY_AGE_PERCENT) - 1)
    weights = ITALY_AGE_PERCENT.copy()
    weights[: int(min_age // 5)] = 0.0
    rate = np.zeros(len(weights))
    for b in range(len(weights)):
        sel = (band == b) & (pop.age >= min_age)
        rate[b] = flag[sel].mean() if sel.any() else 0.0
    return float((rate * weights).sum() / weights.sum())


def records(region: Region, layout: str) -> int:
    return len(region.table(layout))


def prescriptions(region: Region) -> int:
    """Prescriptions (ricette) dispensed: one trailer line 99 each."""
    return int(pc.sum(pc.equal(region.table("pharmacy_d2")["progressivo_riga"], "99")).as_py())


def packs(region: Region) -> int:
    t = region.table("pharmacy_d2")
    lines = pc.not_equal(t["progressivo_riga"], "99")
    return int(pc.sum(pc.cast(pc.filter(t["quantita"], lines), "int64")).as_py())


def share(region: Region, layout: str, field: str, values: set[str]) -> float:
    """Share of a layout's records whose field is one of ``values``."""
    hit = pc.is_in(region.table(layout)[field], value_set=pa.array(sorted(values)))
    return float(pc.mean(pc.cast(hit, pa.float64())).as_py())
