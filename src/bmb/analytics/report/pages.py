"""The HTML page of each result kind: cohort, Table 1, incidence, prevalence."""

from __future__ import annotations

from collections.abc import Callable

from bmb.analytics.characterization.table1 import Table1, Table1Row
from bmb.analytics.cohort.runner import CohortResult
from bmb.analytics.rates.incidence import IncidenceResult, IncidenceRow
from bmb.analytics.rates.prevalence import PrevalenceResult
from bmb.analytics.report.html import facts, page, table

#: Concept-based analyses show this many covariates (most frequent first) on the page.
TOP = 25


def cohort_page(result: CohortResult) -> str:
    summary = facts(
        [
            ("persons", result.persons),
            ("cohort periods", result.records),
            ("entry events", result.primary_events),
            ("qualifying events", result.qualified_events),
            ("events passing the inclusion rules", result.included_events),
            ("persons lost to the censor window", result.censored_persons),
            ("seconds", round(result.seconds, 2)),
        ]
    )
    sections = [("Summary", summary)]
    for report in (result.by_person, result.by_event):
        rows = [(label, remaining, lost) for label, remaining, lost in report.steps()]
        sections.append((f"Attrition by {report.mode}", table(["step", report.mode, "lost"], rows)))
        if report.rules:
            stats = [(r.index + 1, r.name, r.satisfied, r.gain, r.remaining) for r in report.rules]
            sections.append(
                (
                    f"Inclusion rules ({report.mode})",
                    table(
                        ["#", "rule", "satisfying", "lost to this rule alone", "after rules 1..#"],
                        stats,
                    ),
                )
            )
    return page(f"Cohort: {result.name or result.cohort_id}", result.provenance, sections)


def table1_page(t1: Table1) -> str:
    names = [c.name for c in t1.cohorts]
    head = facts([(f"{c.name}", f"{c.rows:,} periods, {c.persons:,} persons") for c in t1.cohorts])
    sections = [("Cohorts", head)]
    by_analysis: dict[str, list[Table1Row]] = {}
    for r in t1.rows:
        by_analysis.setdefault(r.analysis, []).append(r)
    for analysis, rows in by_analysis.items():
        concept_based = analysis.startswith(("conditions", "drugs"))
        if concept_based:
            rows = sorted(rows, key=lambda r: -max(v.mean for v in r.values))[:TOP]
        cols = ["covariate"]
        for n in names:
            cols += [f"{n}"]
        cols += [f"SMD {n}" for n in names[1:]]
        out = []
        for r in rows:
            cells: list[object] = [r.name]
            for v in r.values:
                if r.kind == "binary":
                    cells.append(f"{v.n:,} ({100 * v.mean:.1f}%)")
                else:
                    cells.append(f"{v.mean:,.2f} ({v.sd:,.2f})")
            cells += list(r.smd[1:])
            out.append(cells)
        title = analysis + (f" (top {TOP})" if concept_based else "")
        sections.append((title, table(cols, out, digits=3)))
    note = (
        '<p class="muted">Binary: n (%); continuous: mean (SD). SMD against the first '
        "cohort; |SMD| &gt; 0.1 suggests imbalance.</p>"
    )
    sections.append(("", note))
    return page("Table 1: " + " vs ".join(names), t1.provenance, sections)


def incidence_page(r: IncidenceResult) -> str:
    per = int(r.per)
    settings = facts([("target", r.target), ("outcome", r.outcome), *r.settings.items()])

    def rows(pred: Callable[[IncidenceRow], bool]) -> list[list[object]]:
        out: list[list[object]] = []
        for x in r.rows:
            if pred(x):
                out.append(
                    [
                        x.age_band or "all",
                        x.sex if x.sex is not None else "all",
                        x.year if x.year is not None else "all",
                        x.persons_at_risk,
                        x.cases,
                        x.person_years,
                        x.rate.value,
                        f"{x.rate.lower:,.2f} – {x.rate.upper:,.2f}",
                    ]
                )
        return out

    cols = [
        "age",
        "sex",
        "year",
        "persons at risk",
        "cases",
        "person-years",
        f"rate per {per:,} PY",
        "95% CI (exact)",
    ]
    sections = [("Settings", settings)]
    sections.append(
        ("Overall and by sex", table(cols, rows(lambda x: x.age_band is None and x.year is None)))
    )
    sections.append(
        (
            "By age band",
            table(
                cols, rows(lambda x: x.age_band is not None and x.sex is None and x.year is None)
            ),
        )
    )
    sections.append(
        (
            "By calendar year",
            table(
                cols, rows(lambda x: x.year is not None and x.age_band is None and x.sex is None)
            ),
        )
    )
    if r.standardized:
        std = [
            [
                s.sex if s.sex is not None else "all",
                s.year if s.year is not None else "all",
                s.rate.value,
                f"{s.rate.lower:,.2f} – {s.rate.upper:,.2f}",
                ", ".join(s.missing_bands) or "none",
            ]
            for s in r.standardized
        ]
        sections.append(
            (
                f"Age-standardized ({r.standard}, direct; Fay-Feuer CI)",
                table(
                    ["sex", "year", f"rate per {per:,} PY", "95% CI", "bands without person-time"],
                    std,
                ),
            )
        )
    return page(f"Incidence of {r.outcome} in {r.target}", r.provenance, sections)


def prevalence_page(r: PrevalenceResult) -> str:
    settings = facts([("outcome", r.outcome), ("population", r.population), *r.settings.items()])

    def pct(x: float) -> str:
        return f"{100 * x:.3f}%"

    main = [
        [
            f"{x.period_start} – {x.period_end}"
            if x.period_start != x.period_end
            else str(x.period_start),
            x.age_band or "all",
            x.sex if x.sex is not None else "all",
            x.persons,
            x.cases,
            pct(x.prevalence.value),
            f"{pct(x.prevalence.lower)} – {pct(x.prevalence.upper)}",
        ]
        for x in r.rows
    ]
    sections = [
        ("Settings", settings),
        (
            "Prevalence (Wilson 95% CI)",
            table(["period", "age", "sex", "persons", "cases", "prevalence", "95% CI"], main),
        ),
    ]
    if r.standardized:
        std = [
            [
                f"{s.period_start} – {s.period_end}",
                s.sex if s.sex is not None else "all",
                pct(s.prevalence.value),
                f"{pct(s.prevalence.lower)} – {pct(s.prevalence.upper)}",
                ", ".join(s.missing_bands) or "none",
            ]
            for s in r.standardized
        ]
        sections.append(
            (
                f"Age-standardized ({r.standard})",
                table(["period", "sex", "prevalence", "95% CI", "bands without persons"], std),
            )
        )
    return page(f"Prevalence of {r.outcome}", r.provenance, sections)
