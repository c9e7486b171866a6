"""What incidence and prevalence share: cohort references, strata, SQL helpers."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from bmb.analytics.cohort import sqltext as q
from bmb.domain.populations import StandardPopulation

#: The dimensions rates can be stratified by.
STRATA = ("age", "sex", "year")
_COLUMNS = {"age": "age_band", "sex": "gender_concept_id", "year": "calendar_year"}


@dataclass(frozen=True, slots=True)
class CohortRef:
    """A cohort held by the engine: a table with the OHDSI cohort table's columns."""

    table: str
    cohort_id: int | None = None
    name: str = ""

    def select(self) -> str:
        """``subject_id, cohort_start_date, cohort_end_date`` of this cohort."""
        where = (
            "" if self.cohort_id is None else f" WHERE cohort_definition_id = {int(self.cohort_id)}"
        )
        return f"SELECT subject_id, cohort_start_date, cohort_end_date FROM {self.table}{where}"


def check_strata(strata: Iterable[str], allowed: Sequence[str] = STRATA) -> tuple[str, ...]:
    out = tuple(dict.fromkeys(strata))
    bad = [s for s in out if s not in allowed]
    if bad:
        raise ValueError(f"unknown strata {bad} (choose from {', '.join(allowed)})")
    return out


def grouping_sets(strata: Sequence[str], always: Sequence[str] = ()) -> str:
    """Every combination of ``strata`` (overall included), each with ``always``."""
    sets = []
    for k in range(len(strata) + 1):
        for combo in itertools.combinations(strata, k):
            cols = [*always, *(_COLUMNS[s] for s in combo)]
            sets.append(f"({', '.join(cols)})")
    return ", ".join(sets)


def grouping_flags(strata: Sequence[str]) -> str:
    """``GROUPING(col) AS g_<dim>`` for each dimension (1 when rolled up)."""
    return ", ".join(f"GROUPING({_COLUMNS[s]}) AS g_{s}" for s in strata)


def column(dim: str) -> str:
    return _COLUMNS[dim]


def age_band_sql(age: str, population: StandardPopulation) -> str:
    """A CASE giving the lower bound of the standard population's band of ``age``."""
    whens = []
    for band in population.bands:
        if band.upper is None:
            whens.append(f"WHEN {age} >= {band.lower} THEN {band.lower}")
        else:
            whens.append(f"WHEN {age} BETWEEN {band.lower} AND {band.upper} THEN {band.lower}")
    return f"CASE {' '.join(whens)} END"


def years_sql(first: int, last: int) -> str:
    """One row per calendar year: ``calendar_year, year_start, year_end``."""
    rows = [
        f"SELECT {y} AS calendar_year, {q.day(date(y, 1, 1))} AS year_start, "
        f"{q.day(date(y, 12, 31))} AS year_end"
        for y in range(first, last + 1)
    ]
    return " UNION ALL ".join(rows)


def band_label(lower: int | None, population: StandardPopulation) -> str | None:
    if lower is None:
        return None
    for band in population.bands:
        if band.lower == lower:
            return band.label
    return str(lower)
