"""HTML pages of the planning results (one per command's ``--out page.html``).

Built from the same pieces as every BMB page (:mod:`bmb.analytics.report.html`: a
header with the provenance, plain tables) plus the charts as inline SVG, so a page is
one self-contained file that opens offline.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bmb.analytics.plots import to_svg
from bmb.analytics.report.html import facts, page, table

if TYPE_CHECKING:
    import pyarrow as pa

    from bmb.analytics.indicators import IndicatorResult
    from bmb.analytics.registry import RegistryResult
    from bmb.analytics.stratification import StratificationResult


def figure(svg: str, caption: str = "") -> str:
    cap = f"<figcaption class='muted'>{caption}</figcaption>" if caption else ""
    return f"<figure style='margin:0 0 1rem'>{svg}{cap}</figure>"


def registry_page(result: RegistryResult, prev: pa.Table, std: pa.Table) -> str:
    from bmb.analytics.plots.charts import prevalence_heatmap

    last = max(d.year for d in result.spec.reference_dates)
    overall = [
        r
        for r in prev.to_pylist()
        if r["unit_code"] == "all" and r["age_band"] == "all" and r["sex"] == "all"
    ]
    rules = [
        (c.name, c.label, "; ".join(k.label for k in c.criteria)) for c in result.rules.conditions
    ]
    sections = [
        (
            "Summary",
            facts(
                [
                    ("rules", f"{result.rules.name} ({result.rules.version})"),
                    ("rules file", result.rules.origin),
                    (
                        "reference dates",
                        ", ".join(d.isoformat() for d in result.spec.reference_dates),
                    ),
                    ("seconds", round(result.seconds, 1)),
                ]
            ),
        ),
        (
            "Prevalence (%) on 31 December",
            table(
                ["year", "condition", "cases", "residents", "prevalence %", "lower", "upper"],
                [
                    [
                        r["year"],
                        r["condition"],
                        r["cases"],
                        r["population"],
                        r["prevalence"],
                        r["lower"],
                        r["upper"],
                    ]
                    for r in overall
                ],
            ),
        ),
        (
            "Age-standardized prevalence by district",
            figure(
                to_svg(prevalence_heatmap(std, last)),
                "Directly standardized to the 2013 European Standard Population; colour is "
                "relative within each condition.",
            ),
        ),
        (
            "Rules (any criterion flags the condition)",
            table(["condition", "label", "criteria"], rules),
        ),
    ]
    return page("Chronic-condition registry", result.provenance, sections)


def stratification_page(
    result: StratificationResult, counts: pa.Table, kaiser: pa.Table, bands: pa.Table
) -> str:
    from bmb.analytics.plots.charts import cost_concentration, risk_pyramid

    last = max(d.year for d in result.registry.spec.reference_dates)
    k_rows = [
        [
            r["year"],
            r["tier"],
            r["levels"],
            r["persons"],
            r["share"],
            r["lower"],
            r["upper"],
            f"{r['reference_low']:g}-{r['reference_high']:g}",
            r["verdict"],
        ]
        for r in kaiser.to_pylist()
    ]
    by_unit = [r for r in counts.to_pylist() if r["year"] == last and r["unit_code"] != "all"]
    units = sorted({(r["unit_code"], r["unit_name"]) for r in by_unit})
    levels = [lv.level for lv in result.config.levels]
    unit_rows = []
    for code, name in units:
        cells = {r["level"]: r for r in by_unit if r["unit_code"] == code}
        unit_rows.append(
            [
                code,
                name,
                *[
                    f"{cells[lv]['persons']:,} ({cells[lv]['share']:.1f}%)" if lv in cells else "0"
                    for lv in levels
                ],
            ]
        )
    sections = [
        ("The pyramid", figure(to_svg(risk_pyramid(kaiser, counts, last)))),
        (
            "Against the Kaiser pyramid",
            table(
                [
                    "year",
                    "tier",
                    "levels",
                    "persons",
                    "share %",
                    "lower",
                    "upper",
                    "reference %",
                    "verdict",
                ],
                k_rows,
            ),
        ),
        (
            f"Levels by district, {last}",
            table(["unit", "district", *[f"level {lv}" for lv in levels]], unit_rows),
        ),
        ("Resource-use bands", figure(to_svg(cost_concentration(bands, last)))),
        (
            "",
            table(
                ["year", "band", "name", "persons", "share %", "cost share %", "mean cost"],
                [
                    [
                        r["year"],
                        r["resource_band"],
                        r["band_name"],
                        r["persons"],
                        r["share"],
                        r["cost_share"],
                        r["mean_cost"],
                    ]
                    for r in bands.to_pylist()
                ],
            ),
        ),
    ]
    return page("Risk pyramid and resource-use bands", result.provenance, sections)


def indicators_page(results: Sequence[IndicatorResult]) -> str:
    """Every indicator: regional rate, hospital table, funnel plot, model odds ratios."""
    from bmb.analytics.plots.charts import funnel_plot

    sections: list[tuple[str, str]] = []
    for r in results:
        reg = r.region
        ind = r.indicator
        sections.append(
            (
                ind.title,
                facts(
                    [
                        ("admissions", f"{reg['start']} to {reg['end']}"),
                        ("index episodes", reg["episodes"]),
                        ("events", reg["events"]),
                        (
                            "regional rate",
                            f"{reg['rate']:.1f}% ({reg['lower']:.1f}-{reg['upper']:.1f})",
                        ),
                        ("threshold", "" if ind.threshold is None else f"{ind.threshold:g}%"),
                        ("risk adjustment", reg["adjustment"]),
                        ("arrivals through the emergency department", reg["via_ed"]),
                    ]
                ),
            )
        )
        sections.append(
            ("", figure(to_svg(funnel_plot(r.hospitals, reg["rate"], ind.title, ind.threshold))))
        )
        sections.append(
            (
                "",
                table(
                    [
                        "hospital",
                        "name",
                        "episodes",
                        "observed",
                        "expected",
                        "crude %",
                        "adjusted %",
                        "lower",
                        "upper",
                        "funnel",
                    ],
                    [
                        [
                            h["hospital"],
                            h["hospital_name"],
                            h["episodes"],
                            h["observed"],
                            h["expected"],
                            h["crude"],
                            h["adjusted"],
                            h["lower"],
                            h["upper"],
                            h.get("funnel", ""),
                        ]
                        for h in r.hospitals.to_pylist()
                    ],
                ),
            )
        )
        if r.coefficients.num_rows:
            sections.append(
                (
                    "",
                    "<p class='muted'>Risk model (odds ratios, age per decade "
                    "from 70):</p>"
                    + table(
                        ["covariate", "odds ratio", "lower", "upper", "p"],
                        [
                            [c["covariate"], c["odds_ratio"], c["lower"], c["upper"], c["p_value"]]
                            for c in r.coefficients.to_pylist()
                        ],
                        digits=3,
                    ),
                )
            )
    prov = results[0].provenance
    return page("Outcome indicators (PNE-style)", prov, sections)
