"""Incidence rates per 1,000 person-years, stratified, with exact Poisson intervals.

The method is OHDSI CohortIncidence's: each target cohort episode gives a time at
risk (TAR) anchored on its start or end, cut at the end of observation; overlapping
TARs of a person are merged; after each outcome, time until the outcome's end plus
the clean window is not at risk and outcomes starting there are not new cases. A case
is an outcome starting in the remaining TAR.

Strata: age band (the standard population's bands, age at TAR start), sex (gender
concept) and calendar year (person-time split across years, each case in the year it
happens). Every combination is computed in one ``GROUPING SETS`` query, so persons at
risk are counted once in each stratum. Age-standardized rates use the 2013 European
Standard Population with Fay-Feuer intervals.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from bmb._version import __version__
from bmb.analytics.cohort import sqltext as q
from bmb.analytics.cohort.compiler import _eras
from bmb.analytics.cohort.runner import engine_name
from bmb.analytics.rates.common import (
    CohortRef,
    age_band_sql,
    band_label,
    check_strata,
    column,
    grouping_flags,
    grouping_sets,
    years_sql,
)
from bmb.analytics.rates.intervals import Estimate, direct_standardized, rate, wilson
from bmb.domain.populations import StandardPopulation, esp2013
from bmb.domain.provenance import Provenance
from bmb.engines.capabilities import drop, materialize, snapshot_of, tuned_call

if TYPE_CHECKING:
    import pyarrow as pa

    from bmb.engines.base import Engine

DAYS_PER_YEAR = 365.25


@dataclass(frozen=True, slots=True)
class TimeAtRisk:
    """Start and end of time at risk, each an offset from the episode's start or end."""

    start_offset: int = 0
    start_anchor: str = "start"
    end_offset: int = 0
    end_anchor: str = "end"

    def __post_init__(self) -> None:
        for anchor in (self.start_anchor, self.end_anchor):
            if anchor not in ("start", "end"):
                raise ValueError(f"a time-at-risk anchor is 'start' or 'end', not {anchor!r}")

    def describe(self) -> str:
        return (
            f"cohort {self.start_anchor} {self.start_offset:+d} d "
            f"to cohort {self.end_anchor} {self.end_offset:+d} d"
        )


@dataclass(frozen=True, slots=True)
class IncidenceRow:
    """Incidence in one stratum; a stratum value None means all."""

    age_band: str | None
    sex: int | None
    year: int | None
    persons_at_risk: int
    persons_with_cases: int
    cases: int
    person_years: float
    rate: Estimate  # per 1,000 person-years
    proportion: Estimate  # persons with cases / persons at risk


@dataclass(frozen=True, slots=True)
class StandardizedRow:
    """An age-standardized rate (all ages) within a stratum of sex or year."""

    sex: int | None
    year: int | None
    rate: Estimate
    missing_bands: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class IncidenceResult:
    """Incidence of ``outcome`` in ``target``, by stratum, with its provenance."""

    target: str
    outcome: str
    time_at_risk: TimeAtRisk
    clean_window: int
    per: float
    rows: tuple[IncidenceRow, ...]
    standardized: tuple[StandardizedRow, ...]
    standard: str
    provenance: Provenance
    settings: dict[str, Any] = field(default_factory=dict)

    def overall(self) -> IncidenceRow:
        return next(r for r in self.rows if r.age_band is None and r.sex is None and r.year is None)

    def to_arrow(self) -> pa.Table:
        import pyarrow as pa

        records = [
            {
                "target": self.target,
                "outcome": self.outcome,
                "age_band": r.age_band,
                "sex_concept_id": r.sex,
                "calendar_year": r.year,
                "persons_at_risk": r.persons_at_risk,
                "persons_with_cases": r.persons_with_cases,
                "cases": r.cases,
                "person_years": r.person_years,
                f"rate_per_{int(self.per)}_py": r.rate.value,
                "rate_lower": r.rate.lower,
                "rate_upper": r.rate.upper,
                "proportion": r.proportion.value,
                "proportion_lower": r.proportion.lower,
                "proportion_upper": r.proportion.upper,
                "standardized": False,
            }
            for r in self.rows
        ]
        records += [
            {
                "target": self.target,
                "outcome": self.outcome,
                "age_band": f"standardized ({self.standard})",
                "sex_concept_id": s.sex,
                "calendar_year": s.year,
                f"rate_per_{int(self.per)}_py": s.rate.value,
                "rate_lower": s.rate.lower,
                "rate_upper": s.rate.upper,
                "standardized": True,
            }
            for s in self.standardized
        ]
        return pa.Table.from_pylist(records)


@tuned_call
def incidence(
    engine: Engine,
    target: CohortRef,
    outcome: CohortRef,
    *,
    tar: TimeAtRisk | None = None,
    clean_window: int = 0,
    strata: tuple[str, ...] = ("age", "sex", "year"),
    study_start: date | None = None,
    study_end: date | None = None,
    per: float = 1000.0,
    alpha: float = 0.05,
    standard: StandardPopulation | None = None,
) -> IncidenceResult:
    """Incidence of ``outcome`` in ``target`` on ``engine``.

    ``study_start``/``study_end`` cut time at risk to a calendar window.
    """
    tar = tar or TimeAtRisk()
    strata = check_strata(strata)
    population = standard or esp2013()
    prefix = f"bmb_ir_{secrets.token_hex(4)}"
    n_tar, n_excl, n_pieces, n_cases = (f"{prefix}_{s}" for s in ("tar", "excl", "pieces", "cases"))
    d = engine.dialect
    anchor = {"start": "t.cohort_start_date", "end": "t.cohort_end_date"}
    start = q.add_days(anchor[tar.start_anchor], tar.start_offset)
    end = q.add_days(anchor[tar.end_anchor], tar.end_offset)
    end = f"LEAST({end}, op.observation_period_end_date)"
    if study_end is not None:
        end = f"LEAST({end}, {q.day(study_end)})"
    if study_start is not None:
        start = f"GREATEST({start}, {q.day(study_start)})"
    raw_tar = (
        "SELECT * FROM (SELECT t.subject_id AS person_id, "
        f"{start} AS start_date, {end} AS end_date "
        f"FROM ({target.select()}) t JOIN observation_period op ON op.person_id = t.subject_id "
        "AND t.cohort_start_date >= op.observation_period_start_date "
        "AND t.cohort_start_date <= op.observation_period_end_date) R WHERE start_date <= end_date"
    )
    merged_tar = _eras(f"({raw_tar}) RT", 0)
    raw_excl = (
        "SELECT * FROM (SELECT o.subject_id AS person_id, "
        f"{q.add_days('o.cohort_start_date', 1)} AS start_date, "
        f"{q.add_days('o.cohort_end_date', clean_window)} AS end_date "
        f"FROM ({outcome.select()}) o WHERE o.subject_id IN (SELECT person_id FROM {n_tar})) X "
        "WHERE start_date <= end_date"
    )
    steps = [
        (n_tar, merged_tar),
        (n_excl, _eras(f"({raw_excl}) RX", 0)),
        (
            n_pieces,
            "SELECT person_id, start_date, end_date, 1 AS sign, start_date AS tar_start "
            f"FROM {n_tar} "
            "UNION ALL SELECT t.person_id, GREATEST(t.start_date, e.start_date), "
            "LEAST(t.end_date, e.end_date), -1, t.start_date "
            f"FROM {n_tar} t JOIN {n_excl} e ON e.person_id = t.person_id "
            "AND e.start_date <= t.end_date AND e.end_date >= t.start_date",
        ),
        (
            n_cases,
            "SELECT o.subject_id AS person_id, o.cohort_start_date AS outcome_date, "
            f"t.start_date AS tar_start FROM ({outcome.select()}) o JOIN {n_tar} t "
            "ON t.person_id = o.subject_id AND o.cohort_start_date >= t.start_date "
            "AND o.cohort_start_date <= t.end_date "
            f"WHERE NOT EXISTS (SELECT 1 FROM {n_excl} e WHERE e.person_id = o.subject_id "
            "AND o.cohort_start_date >= e.start_date AND o.cohort_start_date <= e.end_date)",
        ),
    ]
    created: list[str] = []
    try:
        for name, sql in steps:
            materialize(engine, name, q.transpile(sql, d))
            created.append(name)
        span = engine.query(
            q.transpile(
                f"SELECT MIN(YEAR(start_date)) AS y0, MAX(YEAR(end_date)) AS y1 FROM {n_tar}", d
            )
        ).to_pylist()[0]
        if span["y0"] is None:
            time_rows: list[dict[str, Any]] = []
            case_rows: list[dict[str, Any]] = []
        else:
            time_rows, case_rows = _aggregate(
                engine, strata, population, n_pieces, n_cases, int(span["y0"]), int(span["y1"])
            )
    finally:
        for name in reversed(created):
            drop(engine, name)
    rows = _rows(time_rows, case_rows, strata, population, per, alpha)
    std = _standardize(rows, strata, population, per, alpha)
    return IncidenceResult(
        target=target.name or target.table,
        outcome=outcome.name or outcome.table,
        time_at_risk=tar,
        clean_window=clean_window,
        per=per,
        rows=tuple(rows),
        standardized=tuple(std),
        standard=population.name,
        provenance=Provenance.now(
            snapshot_id=snapshot_of(engine), bmb_version=__version__, engine=engine_name(engine)
        ),
        settings={
            "time_at_risk": tar.describe(),
            "clean_window_days": clean_window,
            "strata": ",".join(strata),
            "study_start": study_start.isoformat() if study_start else "",
            "study_end": study_end.isoformat() if study_end else "",
        },
    )


def _aggregate(
    engine: Engine,
    strata: tuple[str, ...],
    population: StandardPopulation,
    pieces: str,
    cases: str,
    first_year: int,
    last_year: int,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    d = engine.dialect
    band = age_band_sql("YEAR(p.tar_start) - pe.year_of_birth", population)
    per_person = (
        f"SELECT p.person_id, {band} AS age_band, pe.gender_concept_id, y.calendar_year, "
        "SUM(p.sign * (DATE_DIFF('day', GREATEST(p.start_date, y.year_start), "
        "LEAST(p.end_date, y.year_end)) + 1)) AS days "
        f"FROM {pieces} p JOIN person pe ON pe.person_id = p.person_id "
        f"JOIN ({years_sql(first_year, last_year)}) y "
        "ON y.year_start <= p.end_date AND y.year_end >= p.start_date "
        "GROUP BY p.person_id, age_band, pe.gender_concept_id, y.calendar_year"
    )
    dims = ", ".join(column(s) for s in strata)
    select_dims = f"{dims}, " if dims else ""
    flags = f", {grouping_flags(strata)}" if strata else ""
    sets = grouping_sets(strata)
    time_sql = (
        f"SELECT {select_dims}COUNT(DISTINCT CASE WHEN days > 0 THEN person_id END) AS persons, "
        f"SUM(days) AS days{flags} FROM ({per_person}) PP GROUP BY GROUPING SETS ({sets})"
    )
    cband = age_band_sql("YEAR(c.tar_start) - pe.year_of_birth", population)
    per_case = (
        f"SELECT c.person_id, {cband} AS age_band, pe.gender_concept_id, "
        f"YEAR(c.outcome_date) AS calendar_year FROM {cases} c "
        "JOIN person pe ON pe.person_id = c.person_id"
    )
    case_sql = (
        f"SELECT {select_dims}COUNT(*) AS cases, COUNT(DISTINCT person_id) AS persons{flags} "
        f"FROM ({per_case}) PC GROUP BY GROUPING SETS ({sets})"
    )
    return (
        engine.query(q.transpile(time_sql, d)).to_pylist(),
        engine.query(q.transpile(case_sql, d)).to_pylist(),
    )


def _key(row: dict[str, Any], strata: tuple[str, ...]) -> tuple[Any, Any, Any]:
    values: dict[str, Any] = {}
    for s in ("age", "sex", "year"):
        if s in strata and not row.get(f"g_{s}"):
            values[s] = row.get(column(s))
            values[s] = None if values[s] is None else int(values[s])
        else:
            values[s] = None
    return values["age"], values["sex"], values["year"]


def _rows(
    time_rows: list[dict[str, Any]],
    case_rows: list[dict[str, Any]],
    strata: tuple[str, ...],
    population: StandardPopulation,
    per: float,
    alpha: float,
) -> list[IncidenceRow]:
    cases = {_key(r, strata): r for r in case_rows}
    out = []
    keys = {_key(r, strata): r for r in time_rows}
    if (None, None, None) not in keys:
        keys[(None, None, None)] = {"persons": 0, "days": 0}
    for key, r in sorted(
        keys.items(), key=lambda kv: tuple((v is not None, v or 0) for v in kv[0])
    ):
        c = cases.get(key, {})
        n_cases, n_persons = int(c.get("cases") or 0), int(c.get("persons") or 0)
        persons = int(r.get("persons") or 0)
        years = float(r.get("days") or 0) / DAYS_PER_YEAR
        out.append(
            IncidenceRow(
                age_band=band_label(key[0], population),
                sex=key[1],
                year=key[2],
                persons_at_risk=persons,
                persons_with_cases=n_persons,
                cases=n_cases,
                person_years=years,
                rate=rate(n_cases, years, per=per, alpha=alpha),
                proportion=wilson(min(n_persons, persons), persons, alpha)
                if persons
                else Estimate(math.nan, math.nan, math.nan),
            )
        )
    return out


def _standardize(
    rows: list[IncidenceRow],
    strata: tuple[str, ...],
    population: StandardPopulation,
    per: float,
    alpha: float,
) -> list[StandardizedRow]:
    if "age" not in strata:
        return []
    groups: list[tuple[int | None, int | None]] = [(None, None)]
    if "sex" in strata:
        groups += sorted({(r.sex, None) for r in rows if r.sex is not None}, key=str)
    if "year" in strata:
        groups += sorted({(None, r.year) for r in rows if r.year is not None}, key=str)
    out = []
    for sex, year in groups:
        by_band = {
            r.age_band: r
            for r in rows
            if r.age_band is not None and r.sex == sex and r.year == year
        }
        counts, times, weights, missing = [], [], [], []
        for band, weight in zip(population.bands, population.weights, strict=True):
            r = by_band.get(band.label)
            if r is None or r.person_years <= 0:
                missing.append(band.label)
                continue
            counts.append(r.cases)
            times.append(r.person_years)
            weights.append(weight)
        est = direct_standardized(counts, times, weights, per=per, alpha=alpha)
        out.append(StandardizedRow(sex, year, est, tuple(missing)))
    return out
