"""``bmb report planning``: one self-contained HTML file for the agency's planners.

Sections, all for one reference date (31 December of the year) unless said otherwise:
the population pyramid; chronic conditions (prevalence, and its geography
age-standardized by district); the risk pyramid against the Kaiser pyramid and the
resource-use bands; the distribution of 12-month risk from the given models; the
comorbidity network; the outcome indicators by hospital with their funnels; and the
methods. Charts are inline SVG, styles inline, no script and no link outside the file:
it opens offline and can be attached to a planning document as is.

Counts by district pass the output policy's small-count rule (primary and secondary
suppression, rounding; :mod:`bmb.domain.disclosure`), as planning tables leave the
analysis environment.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from html import escape
from typing import TYPE_CHECKING, Any

import numpy as np

from bmb.analytics.comorbidity import build_comorbidity
from bmb.analytics.indicators import IndicatorResult, compute_indicator
from bmb.analytics.network import comorbidity_network
from bmb.analytics.planning.pages import figure
from bmb.analytics.plots import to_svg
from bmb.analytics.population import PopulationSpec, provenance, require_duckdb
from bmb.analytics.registry import build_registry
from bmb.analytics.registry.prevalence import prevalence, standardized_prevalence
from bmb.analytics.report.html import facts, page, table
from bmb.analytics.risk.features import Reuse
from bmb.analytics.stratification import build_stratification
from bmb.analytics.stratification.summary import band_summary, kaiser_comparison, pyramid_counts
from bmb.domain.disclosure import OutputPolicy, preset
from bmb.domain.disclosure.tables import TableInput, protect_table
from bmb.domain.indicators import default_indicators
from bmb.domain.progress import NullProgress, Progress
from bmb.domain.provenance import Provenance
from bmb.domain.regions import load_region

if TYPE_CHECKING:
    import pyarrow as pa

    from bmb.analytics.risk import RiskModel
    from bmb.engines.base import Engine


@dataclass(frozen=True, slots=True)
class PlanningReport:
    """The rendered page and what it was computed from."""

    html: str
    year: int
    provenance: Provenance
    seconds: float
    sections: tuple[str, ...]


def _protected_counts(counts: dict[str, int], policy: OutputPolicy) -> dict[str, str]:
    """District counts after small-count suppression (with the total as margin)."""
    cells: dict[tuple[Any, ...], int] = {(k,): v for k, v in counts.items()}
    cells[(None,)] = sum(counts.values())
    protected = protect_table(TableInput(("unit",), cells), policy)
    out = {}
    for k in counts:
        v = protected.released_counts[(k,)]
        out[k] = "suppressed" if v is None else f"{v:,}"
    total = protected.released_counts[(None,)]
    out["all"] = "suppressed" if total is None else f"{total:,}"
    return out


def _population_section(engine: Engine, pop: str, year: int, policy: OutputPolicy) -> str:
    from bmb.analytics.plots.charts import population_pyramid

    counts = engine.query(
        f"SELECT age_band, sex, count(*) AS persons FROM {pop} WHERE year = {year} "
        "AND sex IS NOT NULL GROUP BY ALL"
    )
    units = engine.query(
        f"SELECT unit_code, any_value(unit_name) AS unit_name, count(*) AS n, "
        f"100.0 * count(*) FILTER (WHERE age >= 65) / count(*) AS over65, "
        f"100.0 * count(*) FILTER (WHERE age >= 85) / count(*) AS over85 "
        f"FROM {pop} WHERE year = {year} GROUP BY 1 ORDER BY 1"
    ).to_pylist()
    released = _protected_counts({u["unit_code"]: int(u["n"]) for u in units}, policy)
    total = engine.query(
        f"SELECT count(*) AS n, 100.0 * count(*) FILTER (WHERE age >= 65) / count(*) AS o65, "
        f"avg(age) AS mean_age FROM {pop} WHERE year = {year}"
    ).to_pylist()[0]
    return (
        facts(
            [
                ("residents", released["all"]),
                ("aged 65 and over", f"{total['o65']:.1f}%"),
                ("mean age", f"{total['mean_age']:.1f}"),
            ]
        )
        + figure(to_svg(population_pyramid(counts, f"Residents on 31 December {year}")))
        + table(
            ["unit", "district", "residents", "65+ %", "85+ %"],
            [
                [u["unit_code"], u["unit_name"], released[u["unit_code"]], u["over65"], u["over85"]]
                for u in units
            ],
        )
    )


def _risk_section(
    engine: Engine,
    models: Sequence[RiskModel],
    on: date,
    policy: OutputPolicy,
    reuse: Reuse | None = None,
    rules: tuple[str, str] = ("", ""),
) -> str:
    from bmb.analytics.plots.risk import risk_distribution
    from bmb.analytics.risk.score import CLASSES, score_population

    if not models:
        return (
            "<p class='muted'>No risk model was given. Train one with "
            "<code>bmb risk train</code> and pass it with <code>--model</code>.</p>"
        )
    parts = []
    for m in models:
        # The pyramid's tables serve the model when its features came from the same rules.
        same = reuse if (m.features.rules_name, m.features.rules_version) == rules else None
        scores = score_population(engine, m, on, prefix=f"bmb_report_{m.outcome.value}", reuse=same)
        risk = np.asarray(scores.column("risk").to_numpy())
        q = np.asarray(m.extra.get("reference_quantiles") or [], dtype=np.float64)
        cuts = [float(q[int(b)]) for b, _ in CLASSES[:-1]] if q.size else []
        v = m.validation["lightgbm"]
        parts.append(f"<h3>{escape(m.outcome.label.capitalize())}</h3>")
        parts.append(
            facts(
                [
                    (
                        "model",
                        f"LightGBM, trained on {m.train_year}, validated on {m.validation_year}",
                    ),
                    ("validation AUC", f"{v.auc.value:.3f} ({v.auc.lower:.3f}-{v.auc.upper:.3f})"),
                    (
                        "calibration",
                        f"intercept {v.calibration.intercept:+.2f}, slope "
                        f"{v.calibration.slope:.2f}",
                    ),
                    ("expected events in the next 12 months", f"{risk.sum():,.0f}"),
                ]
            )
        )
        parts.append(
            figure(
                to_svg(risk_distribution(risk, f"{m.outcome.label}, {on}", cuts)),
                "Dashed lines: limits of the risk classes (80th, 95th, 99th "
                "percentiles of the model's reference distribution).",
            )
        )
        rows = scores.to_pylist()
        by_unit: dict[str, dict[str, int]] = {}
        for r in rows:
            by_unit.setdefault(str(r["unit_code"]), {}).setdefault(str(r["risk_class"]), 0)
            by_unit[str(r["unit_code"])][str(r["risk_class"])] += 1
        names = [n for _, n in CLASSES]
        released = {
            n: _protected_counts({u: c.get(n, 0) for u, c in by_unit.items()}, policy)
            for n in names
        }
        parts.append(
            table(
                ["unit", *names],
                [[u, *[released[n][u] for n in names]] for u in sorted(by_unit)],
            )
        )
    return "".join(parts)


def _network_section(net_nodes: pa.Table, net_pairs: pa.Table, year: int) -> str:
    from bmb.analytics.plots.charts import network_plot

    edges = net_pairs.filter(net_pairs.column("edge")) if net_pairs.num_rows else net_pairs
    top = sorted(edges.to_pylist(), key=lambda r: -r["phi"])[:15]
    return figure(to_svg(network_plot(net_nodes, edges, f"Comorbidity network, {year}"))) + table(
        ["condition", "condition", "together", "RR adjusted (95% CI)", "phi", "q"],
        [
            [
                r["condition_a"],
                r["condition_b"],
                r["together"],
                f"{r['rr_adjusted']:.2f} ({r['rr_adjusted_lower']:.2f}-"
                f"{r['rr_adjusted_upper']:.2f})",
                r["phi"],
                r["q_adjusted"],
            ]
            for r in top
        ],
        digits=3,
    )


def _indicator_section(results: Sequence[IndicatorResult]) -> str:
    from bmb.analytics.plots.charts import funnel_plot

    parts = []
    for r in results:
        reg, ind = r.region, r.indicator
        parts.append(f"<h3>{escape(ind.title)}</h3>")
        parts.append(
            facts(
                [
                    ("admissions", f"{reg['start']} to {reg['end']}"),
                    (
                        "regional rate",
                        f"{reg['rate']:.1f}% ({reg['lower']:.1f}-"
                        f"{reg['upper']:.1f}) of {reg['episodes']:,} episodes",
                    ),
                    ("threshold", "" if ind.threshold is None else f"{ind.threshold:g}%"),
                    ("adjusted for", reg["adjusted_for"]),
                ]
            )
        )
        if r.hospitals.num_rows:
            parts.append(
                figure(to_svg(funnel_plot(r.hospitals, reg["rate"], ind.title, ind.threshold)))
            )
            parts.append(
                table(
                    ["hospital", "episodes", "adjusted %", "95% CI", "funnel"],
                    [
                        [
                            h["hospital_name"] or h["hospital"],
                            h["episodes"],
                            h["adjusted"],
                            f"{h['lower']:.1f}-{h['upper']:.1f}",
                            h["funnel"],
                        ]
                        for h in r.hospitals.to_pylist()
                    ],
                )
            )
    return "".join(parts)


_METHODS = """
<ul>
<li><b>Residents</b>: persons in an observation period on 31 December and alive; district
from the comune of residence (the region configuration); districts sharing a comune split
by street (Genova) are reported together.</li>
<li><b>Chronic conditions</b>: BDA-style OR rules over exemptions, dispensings, hospital and
emergency diagnoses and lab results, each with its look-back window
(<code>bmb registry rules</code>). Prevalence with Wilson intervals; district geography
directly standardized to the 2013 European Standard Population.</li>
<li><b>Risk pyramid</b>: level 1 four or more conditions or frail (dementia, two or more
unplanned admissions in the year, or 85+ with two or more conditions), level 2 two or three,
level 3 one, level 4 none; resource-use bands from the standard cost of the care used in the
year. Kaiser ranges are the usual literature values [M].</li>
<li><b>Risk</b>: gradient-boosted trees validated on a later year than they were trained on;
classes by percentile of the model's reference distribution. See the model cards.</li>
<li><b>Network</b>: pairs of conditions whose age-and-sex-adjusted co-occurrence exceeds
chance with a false discovery rate under 5%.</li>
<li><b>Indicators</b>: PNE-style definitions (docs/reference/indicators.md), risk-adjusted
by indirect standardization, funnel limits at 95% and 99.8%.</li>
<li><b>Disclosure</b>: counts by district pass the output policy's small-count rule;
suppressed cells read "suppressed".</li>
</ul>
"""


def planning_report(
    engine: Engine,
    year: int,
    *,
    region: str = "liguria",
    models: Sequence[RiskModel] = (),
    indicator_years: Sequence[int] | None = None,
    last_data: date | None = None,
    policy: OutputPolicy | None = None,
    progress: Progress | None = None,
) -> PlanningReport:
    """Compute every section for ``year`` and render the page."""
    require_duckdb(engine, "the planning report")
    t0 = time.perf_counter()
    bar = progress or NullProgress()
    task = "planning report"
    bar.start(task, 7)
    pol = policy or preset("default")
    spec = PopulationSpec.years([year], region=region)
    reg = build_registry(engine, spec, prefix="bmb_report_registry")
    prev = prevalence(engine, reg)
    std = standardized_prevalence(engine, reg)
    bar.advance(task)
    strat = build_stratification(engine, spec, registry=reg, table="bmb_report_strat")
    counts = pyramid_counts(engine, strat)
    kaiser = kaiser_comparison(engine, strat)
    bands = band_summary(engine, strat)
    bar.advance(task)
    net = comorbidity_network(engine, reg, year)
    cmb = build_comorbidity(engine, spec, population=reg.population, table="bmb_report_cmb")
    reuse = Reuse(reg.population, reg.table, cmb.table, strat.utilization)
    bar.advance(task)
    ind_years = list(indicator_years or [year])
    start = date(min(ind_years), 1, 1)
    end = date(max(ind_years), 12, 31)
    if last_data is not None:
        end = min(end, last_data - timedelta(days=30))
    indicators = [
        compute_indicator(engine, ind, start, end, region=region)
        for ind in default_indicators().indicators
    ]
    bar.advance(task)
    from bmb.analytics.plots.charts import (
        cost_concentration,
        prevalence_heatmap,
        risk_pyramid,
    )

    overall = [
        r
        for r in prev.to_pylist()
        if r["unit_code"] == "all" and r["age_band"] == "all" and r["sex"] == "all"
    ]
    title = load_region(region).title
    sections = [
        ("Residents", _population_section(engine, reg.population, year, pol)),
        (
            "Chronic conditions",
            table(
                ["condition", "prevalence %", "95% CI"],
                [
                    [
                        r["condition"].replace("_", " "),
                        r["prevalence"],
                        f"{r['lower']:.2f}-{r['upper']:.2f}",
                    ]
                    for r in overall
                ],
            )
            + figure(
                to_svg(prevalence_heatmap(std, year)),
                "Age-standardized to the 2013 European Standard Population; colour relative "
                "within each condition.",
            ),
        ),
        (
            "Risk pyramid",
            figure(to_svg(risk_pyramid(kaiser, counts, year)))
            + table(
                ["tier", "share %", "95% CI", "Kaiser %", "verdict"],
                [
                    [
                        k["tier"],
                        k["share"],
                        f"{k['lower']:.1f}-{k['upper']:.1f}",
                        f"{k['reference_low']:g}-{k['reference_high']:g}",
                        k["verdict"],
                    ]
                    for k in kaiser.to_pylist()
                ],
            )
            + figure(to_svg(cost_concentration(bands, year))),
        ),
        (
            "Risk of admission and death",
            _risk_section(
                engine,
                models,
                date(year, 12, 31),
                pol,
                reuse,
                (reg.rules.name, reg.rules.version),
            ),
        ),
        ("Comorbidity network", _network_section(net.nodes, net.pairs, year)),
        ("Outcome indicators by hospital", _indicator_section(indicators)),
        ("Methods", _METHODS),
    ]
    toc = (
        "<ol>"
        + "".join(f"<li><a href='#s{i}'>{escape(h)}</a></li>" for i, (h, _) in enumerate(sections))
        + "</ol>"
    )
    body = [("Contents", toc)] + [
        ("", f"<h2 id='s{i}'>{escape(h)}</h2>{html}") for i, (h, html) in enumerate(sections)
    ]
    bar.advance(task, 2)
    prov = provenance(engine)
    bar.finish(task)
    html = page(f"{title}: population health planning, 31 December {year}", prov, body)
    return PlanningReport(html, year, prov, time.perf_counter() - t0, tuple(h for h, _ in sections))
