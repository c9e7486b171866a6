"""``bmb incidence`` and ``bmb prevalence``: rates with confidence intervals."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from bmb.cli.cdm_source import (
    CdmCsvOption,
    CdmSchemaOption,
    OutOption,
    PostgresOption,
    ResultsSchemaOption,
    cohort_ref,
    open_cdm,
)
from bmb.cli.options import LakeOption
from bmb.domain.errors import UsageError

if TYPE_CHECKING:
    from bmb.domain.populations import StandardPopulation


def register(app: typer.Typer) -> None:
    app.command("incidence")(incidence)
    app.command("prevalence")(prevalence)


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{option} {value!r} is not a date", hint="use YYYY-MM-DD") from None


def _strata(value: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    parts = tuple(p.strip() for p in value.split(",") if p.strip() and p.strip() != "none")
    bad = [p for p in parts if p not in allowed]
    if bad:
        raise UsageError(f"--strata {value!r}", hint=f"choose from {', '.join(allowed)} or none")
    return parts


def _standard(name: str) -> StandardPopulation:
    from bmb.domain.populations import STANDARD_POPULATIONS

    if name not in STANDARD_POPULATIONS:
        raise UsageError(f"--standardize {name!r}", hint=f"use {', '.join(STANDARD_POPULATIONS)}")
    return STANDARD_POPULATIONS[name]()


def incidence(
    target: Path = typer.Option(..., "--target", help="The population at risk (cohort)."),
    outcome: Path = typer.Option(..., "--outcome", help="The outcome (cohort)."),
    tar_start: int = typer.Option(0, help="Time at risk starts this many days from its anchor."),
    tar_start_anchor: str = typer.Option("start", help="start or end of the target period."),
    tar_end: int = typer.Option(0, help="Time at risk ends this many days from its anchor."),
    tar_end_anchor: str = typer.Option("end", help="start or end of the target period."),
    clean_window: int = typer.Option(
        0, help="Days after an outcome's end before time is at risk again."
    ),
    strata: str = typer.Option("age,sex,year", help="Strata: age, sex, year (or none)."),
    study_start: str = typer.Option(None, help="Count time at risk from this date."),
    study_end: str = typer.Option(None, help="Count time at risk up to this date."),
    standardize: str = typer.Option("esp2013", help="Standard population for age adjustment."),
    lake: Path = LakeOption,
    cdm_csv: Path = CdmCsvOption,
    postgres: str = PostgresOption,
    cdm_schema: str = CdmSchemaOption,
    results_schema: str = ResultsSchemaOption,
    out: Path = OutOption,
) -> None:
    """Incidence rate per 1,000 person-years with exact Poisson 95% intervals.

    By age band, sex and calendar year; directly age-standardized to the 2013 European
    Standard Population. Cohorts are definition files or cohort files.

    Example: bmb incidence --target celecoxib.json --outcome gi_bleed.json
    --tar-end 365 --tar-end-anchor start --cdm-csv GiBleed_5.3 --out ir.html
    """
    from bmb.analytics.rates import TimeAtRisk
    from bmb.analytics.rates import incidence as run
    from bmb.analytics.report import write_result
    from bmb.analytics.report.pages import incidence_page
    from bmb.cli.console import console, print_table

    try:
        tar = TimeAtRisk(tar_start, tar_start_anchor, tar_end, tar_end_anchor)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    dims = _strata(strata, ("age", "sex", "year"))
    std = _standard(standardize)
    with open_cdm(
        lake, cdm_csv, postgres, cdm_schema, results_schema, command="bmb incidence"
    ) as engine:
        t = cohort_ref(engine, target, 1)
        o = cohort_ref(engine, outcome, 2)
        result = run(
            engine,
            t,
            o,
            tar=tar,
            clean_window=clean_window,
            strata=dims,
            study_start=_day(study_start, "--study-start"),
            study_end=_day(study_end, "--study-end"),
            standard=std,
        )
    overall = result.overall()
    print_table(
        f"Incidence of {result.outcome} in {result.target}",
        ["n persons at risk", "n cases", "person-years", "rate per 1,000 PY", "95% CI"],
        [
            [
                overall.persons_at_risk,
                overall.cases,
                overall.person_years,
                overall.rate.value,
                f"{overall.rate.lower:,.2f} – {overall.rate.upper:,.2f}",
            ]
        ],
    )
    if result.standardized:
        s = result.standardized[0]
        console.print(
            f"Age-standardized ({result.standard}): {s.rate.value:,.2f} per 1,000 PY "
            f"(95% CI {s.rate.lower:,.2f} – {s.rate.upper:,.2f})"
        )
    if out is not None:
        path = write_result(
            result.to_arrow(), out, result.provenance, html=lambda: incidence_page(result)
        )
        console.print(f"Wrote {path}")


def _periods(dates: list[str], periods: list[str], years: str | None) -> list[tuple[date, date]]:
    out: list[tuple[date, date]] = []
    for d in dates:
        day = _day(d, "--date")
        assert day is not None
        out.append((day, day))
    for p in periods:
        m = re.fullmatch(r"(\d{4}-\d{2}-\d{2}):(\d{4}-\d{2}-\d{2})", p.strip())
        if m is None:
            raise UsageError(f"--period {p!r}", hint="use START:END, e.g. 2020-01-01:2020-12-31")
        a, b = date.fromisoformat(m.group(1)), date.fromisoformat(m.group(2))
        if b < a:
            raise UsageError(f"--period {p!r} ends before it starts")
        out.append((a, b))
    if years:
        m = re.fullmatch(r"(\d{4})(?:-(\d{4}))?", years.strip())
        if m is None:
            raise UsageError(f"--years {years!r}", hint="use YEAR or FIRST-LAST, e.g. 2015-2020")
        first, last = int(m.group(1)), int(m.group(2) or m.group(1))
        out += [(date(y, 1, 1), date(y, 12, 31)) for y in range(first, last + 1)]
    if not out:
        raise UsageError("no period given", hint="use --date, --period or --years")
    return out


def prevalence(
    outcome: Path = typer.Option(..., "--outcome", help="The condition (cohort)."),
    population: Path = typer.Option(None, "--population", help="Limit to this cohort."),
    date_: list[str] = typer.Option([], "--date", help="Point prevalence on this date."),
    period: list[str] = typer.Option([], "--period", help="Period START:END (inclusive)."),
    years: str = typer.Option(None, "--years", help="Period prevalence per calendar year."),
    full_period: bool = typer.Option(
        False, help="Count only persons observed for the whole period."
    ),
    strata: str = typer.Option("age,sex", help="Strata: age, sex (or none)."),
    standardize: str = typer.Option("esp2013", help="Standard population for age adjustment."),
    lake: Path = LakeOption,
    cdm_csv: Path = CdmCsvOption,
    postgres: str = PostgresOption,
    cdm_schema: str = CdmSchemaOption,
    results_schema: str = ResultsSchemaOption,
    out: Path = OutOption,
) -> None:
    """Point and period prevalence with Wilson 95% intervals, by age band and sex.

    Example: bmb prevalence --outcome diabetes.yaml --years 2018-2022 --out prev.html
    """
    from bmb.analytics.rates import prevalence as run
    from bmb.analytics.report import write_result
    from bmb.analytics.report.pages import prevalence_page
    from bmb.cli.console import console, print_table

    spans = _periods(date_, period, years)
    dims = _strata(strata, ("age", "sex"))
    std = _standard(standardize)
    with open_cdm(
        lake, cdm_csv, postgres, cdm_schema, results_schema, command="bmb prevalence"
    ) as engine:
        o = cohort_ref(engine, outcome, 1)
        p = cohort_ref(engine, population, 2) if population is not None else None
        result = run(
            engine, o, spans, population=p, full_period=full_period, strata=dims, standard=std
        )
    rows = [
        [
            f"{r.period_start}"
            if r.period_start == r.period_end
            else f"{r.period_start}:{r.period_end}",
            r.persons,
            r.cases,
            f"{100 * r.prevalence.value:.3f}%",
            f"{100 * r.prevalence.lower:.3f}% – {100 * r.prevalence.upper:.3f}%",
        ]
        for r in result.rows
        if r.age_band is None and r.sex is None
    ]
    print_table(
        f"Prevalence of {result.outcome}",
        ["period", "n persons", "n cases", "prevalence", "95% CI"],
        rows,
    )
    if out is not None:
        path = write_result(
            result.to_arrow(), out, result.provenance, html=lambda: prevalence_page(result)
        )
        console.print(f"Wrote {path}")
