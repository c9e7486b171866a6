"""Standard populations for direct age standardization, shipped as data.

The 2013 European Standard Population (Eurostat, *Revision of the European Standard
Population*, 2013) has 19 five-year bands from 0-4 to 90+ summing to 100,000. It is
the reference the Italian regions and ISTAT use for age-standardized rates, so BMB's
rates are comparable with theirs.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True, slots=True)
class AgeBand:
    """Ages ``lower`` to ``upper`` inclusive (``upper`` None: and older)."""

    lower: int
    upper: int | None

    @property
    def label(self) -> str:
        return f"{self.lower}+" if self.upper is None else f"{self.lower}-{self.upper}"

    def contains(self, age: int) -> bool:
        return age >= self.lower and (self.upper is None or age <= self.upper)


@dataclass(frozen=True, slots=True)
class StandardPopulation:
    """A standard population: weights by age band."""

    name: str
    bands: tuple[AgeBand, ...]
    weights: tuple[float, ...]

    @property
    def total(self) -> float:
        return sum(self.weights)

    def band_of(self, age: int) -> AgeBand:
        for band in self.bands:
            if band.contains(age):
                return band
        raise ValueError(f"age {age} is in no band of {self.name}")

    def weight(self, band: AgeBand) -> float:
        return self.weights[self.bands.index(band)]


@cache
def esp2013() -> StandardPopulation:
    """The 2013 European Standard Population."""
    text = resources.files(__package__).joinpath("esp2013.csv").read_text(encoding="utf-8")
    bands, weights = [], []
    for row in csv.DictReader(io.StringIO(text)):
        upper = row["age_upper"]
        bands.append(AgeBand(int(row["age_lower"]), int(upper) if upper else None))
        weights.append(float(row["weight"]))
    return StandardPopulation("ESP2013", tuple(bands), tuple(weights))


#: Standard populations by the name users give (``--standardize esp2013``).
STANDARD_POPULATIONS = {"esp2013": esp2013}
