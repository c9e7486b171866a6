"""Period and point prevalence, stratified, with Wilson intervals.

A person counts in the denominator of a period when observed on at least one of its
days (or on every day, with ``full_period``) and, when a population cohort is given,
in that cohort on at least one day of it. The person is a case when one of their
outcome cohort periods overlaps the period. Point prevalence is the prevalence of a
one-day period. Strata: age band at the period's start and sex, in one
``GROUPING SETS`` query; age-standardized prevalence uses the 2013 European Standard
Population (Fay-Feuer interval on the standardized proportion).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from bmb._version import __version__
from bmb.analytics.cohort import sqltext as q
from bmb.analytics.cohort.runner import engine_name
from bmb.analytics.rates.common import (
    CohortRef,
    age_band_sql,
    band_label,
    check_strata,
    column,
    grouping_flags,
    grouping_sets,
)
from bmb.analytics.rates.intervals import Estimate, direct_standardized, wilson
from bmb.domain.populations import StandardPopulation, esp2013
from bmb.domain.provenance import Provenance
from bmb.engines.capabilities import snapshot_of, tuned_call

if TYPE_CHECKING:
    import pyarrow as pa

    from bmb.engines.base import Engine


@dataclass(frozen=True, slots=True)
class PrevalenceRow:
    """Prevalence in one period and stratum (None: all)."""

    period_start: date
    period_end: date
    age_band: str | None
    sex: int | None
    persons: int
    cases: int
    prevalence: Estimate  # a proportion


@dataclass(frozen=True, slots=True)
class StandardizedPrevalence:
    period_start: date
    period_end: date
    sex: int | None
    prevalence: Estimate
    missing_bands: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PrevalenceResult:
    outcome: str
    population: str
    rows: tuple[PrevalenceRow, ...]
    standardized: tuple[StandardizedPrevalence, ...]
    standard: str
    provenance: Provenance
    settings: dict[str, Any] = field(default_factory=dict)

    def overall(self, period_start: date) -> PrevalenceRow:
        return next(
            r
            for r in self.rows
            if r.period_start == period_start and r.age_band is None and r.sex is None
        )

    def to_arrow(self) -> pa.Table:
        import pyarrow as pa

        records = [
            {
                "outcome": self.outcome,
                "population": self.population,
                "period_start": r.period_start,
                "period_end": r.period_end,
                "age_band": r.age_band,
                "sex_concept_id": r.sex,
                "persons": r.persons,
                "cases": r.cases,
                "prevalence": r.prevalence.value,
                "prevalence_lower": r.prevalence.lower,
                "prevalence_upper": r.prevalence.upper,
                "standardized": False,
            }
            for r in self.rows
        ]
        records += [
            {
                "outcome": self.outcome,
                "population": self.population,
                "period_start": s.period_start,
                "period_end": s.period_end,
                "age_band": f"standardized ({self.standard})",
                "sex_concept_id": s.sex,
                "prevalence": s.prevalence.value,
                "prevalence_lower": s.prevalence.lower,
                "prevalence_upper": s.prevalence.upper,
                "standardized": True,
            }
            for s in self.standardized
        ]
        return pa.Table.from_pylist(records)


@tuned_call
def prevalence(
    engine: Engine,
    outcome: CohortRef,
    periods: Sequence[tuple[date, date]],
    *,
    population: CohortRef | None = None,
    full_period: bool = False,
    strata: tuple[str, ...] = ("age", "sex"),
    alpha: float = 0.05,
    standard: StandardPopulation | None = None,
) -> PrevalenceResult:
    """Prevalence of ``outcome`` in each of ``periods`` (inclusive dates)."""
    if not periods:
        raise ValueError("give at least one period or date")
    for start, end in periods:
        if end < start:
            raise ValueError(f"period {start} to {end} ends before it starts")
    strata = check_strata(strata, ("age", "sex"))
    pop = standard or esp2013()
    table = " UNION ALL ".join(
        f"SELECT {i} AS period_id, {q.day(s)} AS ps, {q.day(e)} AS pe"
        for i, (s, e) in enumerate(periods)
    )
    observed = (
        "op.observation_period_start_date <= pr.ps AND op.observation_period_end_date >= pr.pe"
        if full_period
        else "op.observation_period_start_date <= pr.pe AND op.observation_period_end_date >= pr.ps"
    )
    pop_join = ""
    if population is not None:
        pop_join = (
            f"JOIN ({population.select()}) pc ON pc.subject_id = op.person_id "
            "AND pc.cohort_start_date <= pr.pe AND pc.cohort_end_date >= pr.ps "
        )
    denominator = (
        "SELECT DISTINCT pr.period_id, pr.ps, pr.pe, op.person_id "
        f"FROM ({table}) pr JOIN observation_period op ON {observed} {pop_join}"
    )
    band = age_band_sql("YEAR(d.ps) - pe.year_of_birth", pop)
    per_person = (
        f"SELECT d.period_id, d.person_id, {band} AS age_band, pe.gender_concept_id, "
        "CASE WHEN EXISTS (SELECT 1 FROM "
        f"({outcome.select()}) o WHERE o.subject_id = d.person_id "
        "AND o.cohort_start_date <= d.pe AND o.cohort_end_date >= d.ps) "
        "THEN 1 ELSE 0 END AS is_case "
        f"FROM ({denominator}) d JOIN person pe ON pe.person_id = d.person_id"
    )
    dims = "".join(f", {column(s)}" for s in strata)
    flags = f", {grouping_flags(strata)}" if strata else ""
    sql = (
        f"SELECT period_id{dims}, COUNT(*) AS persons, SUM(is_case) AS cases{flags} "
        f"FROM ({per_person}) P GROUP BY GROUPING SETS ({grouping_sets(strata, ('period_id',))})"
    )
    result = engine.query(q.transpile(sql, engine.dialect)).to_pylist()
    rows = []
    for r in result:
        start, end = periods[int(r["period_id"])]
        age = None if "age" not in strata or r.get("g_age") else r.get("age_band")
        sex = None if "sex" not in strata or r.get("g_sex") else r.get("gender_concept_id")
        persons, cases = int(r["persons"] or 0), int(r["cases"] or 0)
        rows.append(
            PrevalenceRow(
                start,
                end,
                band_label(None if age is None else int(age), pop),
                None if sex is None else int(sex),
                persons,
                cases,
                wilson(cases, persons, alpha),
            )
        )
    for start, end in periods:  # a period nobody was observed in
        if not any(r.period_start == start and r.age_band is None and r.sex is None for r in rows):
            rows.append(PrevalenceRow(start, end, None, None, 0, 0, wilson(0, 0, alpha)))
    rows.sort(
        key=lambda r: (
            r.period_start,
            r.age_band is not None,
            r.sex is not None,
            r.age_band or "",
            r.sex or 0,
        )
    )
    std = _standardize(rows, periods, strata, pop, alpha)
    return PrevalenceResult(
        outcome=outcome.name or outcome.table,
        population=(population.name or population.table) if population else "observed persons",
        rows=tuple(rows),
        standardized=tuple(std),
        standard=pop.name,
        provenance=Provenance.now(
            snapshot_id=snapshot_of(engine), bmb_version=__version__, engine=engine_name(engine)
        ),
        settings={"full_period": full_period, "strata": ",".join(strata)},
    )


def _standardize(
    rows: list[PrevalenceRow],
    periods: Sequence[tuple[date, date]],
    strata: tuple[str, ...],
    pop: StandardPopulation,
    alpha: float,
) -> list[StandardizedPrevalence]:
    if "age" not in strata:
        return []
    out = []
    sexes: list[int | None] = [None]
    if "sex" in strata:
        sexes += sorted({r.sex for r in rows if r.sex is not None})
    for start, end in periods:
        for sex in sexes:
            by_band = {
                r.age_band: r
                for r in rows
                if r.period_start == start and r.age_band is not None and r.sex == sex
            }
            counts, persons, weights, missing = [], [], [], []
            for band, weight in zip(pop.bands, pop.weights, strict=True):
                r = by_band.get(band.label)
                if r is None or r.persons == 0:
                    missing.append(band.label)
                    continue
                counts.append(r.cases)
                persons.append(float(r.persons))
                weights.append(weight)
            est = direct_standardized(counts, persons, weights, per=1.0, alpha=alpha)
            out.append(StandardizedPrevalence(start, end, sex, est, tuple(missing)))
    return out
