"""Population, prevalence and pyramid charts."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from bmb.analytics.plots import LEVEL_COLOURS, PALETTE, new_figure

if TYPE_CHECKING:
    import pyarrow as pa
    from matplotlib.figure import Figure


def population_pyramid(counts: pa.Table, title: str = "Residents by age and sex") -> Figure:
    """Horizontal bars: males left, females right, by age band (``age_band, sex, persons``)."""
    rows = counts.to_pylist()
    bands = sorted(
        {str(r["age_band"]) for r in rows}, key=lambda b: int(b.split("-")[0].rstrip("+"))
    )
    male = np.array(
        [sum(r["persons"] for r in rows if r["age_band"] == b and r["sex"] == "M") for b in bands],
        dtype=float,
    )
    female = np.array(
        [sum(r["persons"] for r in rows if r["age_band"] == b and r["sex"] == "F") for b in bands],
        dtype=float,
    )
    total = max(male.sum() + female.sum(), 1.0)
    fig = new_figure(7, 0.28 * len(bands) + 1.5)
    ax = fig.add_subplot()
    y = np.arange(len(bands))
    ax.barh(y, -100 * male / total, color=PALETTE[0], label="Males")
    ax.barh(y, 100 * female / total, color=PALETTE[1], label="Females")
    ax.set_yticks(y, bands)
    ax.set_xlabel("% of residents")
    lim = float(max(100 * male.max() / total, 100 * female.max() / total, 0.1)) * 1.1
    ax.set_xlim(-lim, lim)
    ticks = ax.get_xticks()
    ax.set_xticks(ticks, [f"{abs(t):g}" for t in ticks])
    ax.axvline(0, color="#444", linewidth=0.6)
    ax.legend(loc="upper right", frameon=False)
    ax.set_title(title, loc="left")
    return fig


def prevalence_heatmap(
    standardized: pa.Table, year: int, title: str = "Age-standardized prevalence (%)"
) -> Figure:
    """Districts (rows) by conditions (columns), coloured by standardized prevalence.

    ``standardized`` is :func:`bmb.analytics.registry.prevalence.standardized_prevalence`;
    colour is relative within each condition (so rare and common conditions both show
    their geography), the number in each cell is the prevalence.
    """
    rows = [r for r in standardized.to_pylist() if r["year"] == year]
    conds = list(dict.fromkeys(r["condition"] for r in rows))
    units = sorted({(r["unit_code"], r["unit_name"]) for r in rows})
    grid = np.full((len(units), len(conds)), np.nan)
    for r in rows:
        i = units.index((r["unit_code"], r["unit_name"]))
        grid[i, conds.index(r["condition"])] = r["standardized"]
    with np.errstate(invalid="ignore"):
        lo, hi = np.nanmin(grid, axis=0), np.nanmax(grid, axis=0)
        rel = (grid - lo) / np.where(hi > lo, hi - lo, 1.0)
    fig = new_figure(max(8.0, 0.55 * len(conds) + 3), 0.32 * len(units) + 2)
    ax = fig.add_subplot()
    ax.imshow(np.nan_to_num(rel, nan=0.0), cmap="Blues", aspect="auto", vmin=0, vmax=1.3)
    for i in range(len(units)):
        for j in range(len(conds)):
            if not np.isnan(grid[i, j]):
                ax.text(j, i, f"{grid[i, j]:.1f}", ha="center", va="center", fontsize=7)
    ax.set_xticks(
        range(len(conds)), [c.replace("_", " ") for c in conds], rotation=45, ha="right", fontsize=8
    )
    ax.set_yticks(range(len(units)), [f"{c} {n}" for c, n in units], fontsize=8)
    ax.set_title(f"{title}, {year}", loc="left")
    return fig


def prevalence_by_district(prevalence: pa.Table, year: int, condition: str) -> Figure:
    """Crude prevalence with 95% intervals per district for one condition, region line."""
    rows = [
        r
        for r in prevalence.to_pylist()
        if r["year"] == year
        and r["condition"] == condition
        and r["age_band"] == "all"
        and r["sex"] == "all"
    ]
    overall = next((r for r in rows if r["unit_code"] == "all"), None)
    units = sorted((r for r in rows if r["unit_code"] != "all"), key=lambda r: r["unit_code"])
    fig = new_figure(7, 0.3 * len(units) + 1.5)
    ax = fig.add_subplot()
    y = np.arange(len(units))
    est = np.array([r["prevalence"] for r in units])
    err = np.array(
        [
            [r["prevalence"] - r["lower"] for r in units],
            [r["upper"] - r["prevalence"] for r in units],
        ]
    )
    ax.errorbar(est, y, xerr=err, fmt="o", color=PALETTE[0], capsize=2)
    if overall is not None:
        ax.axvline(overall["prevalence"], color=PALETTE[3], linestyle="--", label="region")
        ax.legend(frameon=False)
    ax.set_yticks(y, [f"{r['unit_code']} {r['unit_name']}" for r in units], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("prevalence (%) with 95% CI")
    ax.set_title(f"{condition.replace('_', ' ')}: prevalence by district, {year}", loc="left")
    return fig


def risk_pyramid(kaiser: pa.Table, counts: pa.Table, year: int) -> Figure:
    """The pyramid (a triangle in equal layers, level 1 at the top, figures beside each)
    and, on the right, each Kaiser tier's observed share against its usual range."""
    levels = [
        r
        for r in counts.to_pylist()
        if r["year"] == year and r["unit_code"] == "all" and r["age_band"] == "all"
    ]
    levels.sort(key=lambda r: r["level"])
    fig = new_figure(11, 4.4)
    ax, bx = fig.subplots(1, 2, width_ratios=[1.15, 1])
    k = max(len(levels), 1)
    for i, r in enumerate(levels):
        top, bottom = i / k, (i + 1) / k
        xs = [-top / 2, top / 2, bottom / 2, -bottom / 2]
        ys = [i, i, i + 1, i + 1]
        colour = LEVEL_COLOURS[min(i, len(LEVEL_COLOURS) - 1)]
        ax.fill(xs, ys, color=colour, edgecolor="white", linewidth=2)
        ax.text(
            0.55,
            i + 0.5,
            f"L{r['level']}  {float(r['share']):.1f}%  ({r['persons']:,})",
            va="center",
            fontsize=10,
            fontweight="bold",
        )
        ax.text(0.55, i + 0.82, str(r["level_name"]), va="center", fontsize=8, color="#444")
    ax.set_xlim(-0.55, 1.6)
    ax.set_ylim(k + 0.05, -0.05)
    ax.axis("off")
    ax.set_title(f"Risk pyramid, {year}", loc="left")
    tiers = [r for r in kaiser.to_pylist() if r["year"] == year]
    y = np.arange(len(tiers))
    for i, t in enumerate(tiers):
        bx.plot(
            [t["reference_low"], t["reference_high"]],
            [i, i],
            color="#999",
            linewidth=9,
            solid_capstyle="butt",
            label="usual Kaiser range" if i == 0 else None,
        )
        bx.errorbar(
            [t["share"]],
            [i],
            xerr=[[t["share"] - t["lower"]], [t["upper"] - t["share"]]],
            fmt="o",
            color=PALETTE[3],
            label="observed (95% CI)" if i == 0 else None,
        )
    bx.set_yticks(y, [f"{t['tier']}\n(level {t['levels']})" for t in tiers], fontsize=8)
    bx.set_ylim(len(tiers) - 0.5, -0.5)
    bx.set_xscale("log")
    bx.set_xlim(1, 100)
    bx.set_xlabel("% of residents (log scale)")
    bx.legend(frameon=False, fontsize=8, loc="lower left")
    bx.set_title("Against the Kaiser pyramid", loc="left")
    return fig


def cost_concentration(bands: pa.Table, year: int) -> Figure:
    """Share of residents and share of cost per resource band."""
    rows = [r for r in bands.to_pylist() if r["year"] == year]
    fig = new_figure(7, 3.5)
    ax = fig.add_subplot()
    x = np.arange(len(rows))
    ax.bar(x - 0.2, [r["share"] for r in rows], width=0.4, color=PALETTE[0], label="% residents")
    ax.bar(
        x + 0.2,
        [r["cost_share"] for r in rows],
        width=0.4,
        color=PALETTE[3],
        label="% standard cost",
    )
    ax.set_xticks(x, [f"{r['resource_band']} {r['band_name']}" for r in rows], fontsize=8)
    ax.set_ylabel("%")
    ax.legend(frameon=False)
    ax.set_title(f"Resource-use bands, {year}", loc="left")
    return fig


def network_plot(nodes: pa.Table, edges: pa.Table, title: str, max_edges: int = 30) -> Figure:
    """Conditions on a circle (size: prevalence), edges (width: adjusted RR, colour: phi).

    Only the ``max_edges`` strongest edges (by phi) are drawn, so the structure shows;
    the GraphML export holds them all.
    """
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    n = nodes.to_pylist()
    e = sorted(edges.to_pylist(), key=lambda r: -float(r["phi"]))[:max_edges]
    fig = new_figure(7.5, 7.5)
    ax = fig.add_subplot()
    angle = np.linspace(0, 2 * np.pi, len(n), endpoint=False) + np.pi / 2
    pos = {r["condition"]: (np.cos(a), np.sin(a)) for r, a in zip(n, angle, strict=True)}
    cmap = colormaps["viridis"]
    top_phi = max((float(r["phi"]) for r in e), default=0.1) or 0.1
    for r in sorted(e, key=lambda r: r["phi"]):
        (x0, y0), (x1, y1) = pos[r["condition_a"]], pos[r["condition_b"]]
        width = 0.5 + 2.5 * np.log(max(float(r["rr_adjusted"]), 1.0))
        ax.plot(
            [x0, x1],
            [y0, y1],
            color=cmap(float(r["phi"]) / top_phi),
            linewidth=width,
            alpha=0.75,
            zorder=1,
        )
    groups = sorted({r["group"] for r in n})
    for r in n:
        x, y = pos[r["condition"]]
        colour = PALETTE[groups.index(r["group"]) % len(PALETTE)]
        ax.scatter(
            [x], [y], s=40 + 60 * float(r["prevalence"]), color=colour, zorder=2, edgecolors="white"
        )
        ax.text(1.13 * x, 1.13 * y, str(r["label"]), ha="center", va="center", fontsize=8)
    ax.set_xlim(-1.45, 1.45)
    ax.set_ylim(-1.35, 1.35)
    ax.set_aspect("equal")
    ax.axis("off")
    bar = fig.colorbar(ScalarMappable(Normalize(0, top_phi), cmap), ax=ax, shrink=0.5)
    bar.set_label("phi coefficient")
    shown = f"{len(e)} strongest of {edges.num_rows} edges" if edges.num_rows > len(e) else ""
    ax.set_title(f"{title}\n{shown}", loc="left", fontsize=10)
    return fig


def funnel_plot(
    hospitals: pa.Table, overall: float, title: str, threshold: float | None = None
) -> Figure:
    """Risk-adjusted rate by hospital against its number of cases, in the funnel of
    95% and 99.8% binomial limits around the regional rate (percent)."""
    from bmb.analytics.stats.funnel import binomial_limit

    rows = [r for r in hospitals.to_pylist() if r["episodes"] > 0]
    fig = new_figure(7.5, 4.6)
    ax = fig.add_subplot()
    top_n = max((r["episodes"] for r in rows), default=10) * 1.15
    n = np.unique(np.linspace(1, top_n, 300).astype(int))
    p0 = overall / 100
    if 0 < p0 < 1:
        for q, style in ((0.975, "--"), (0.999, ":")):
            label = "95% limits" if q == 0.975 else "99.8% limits"
            ax.plot(n, 100 * binomial_limit(p0, n, q), color="#555", linestyle=style, label=label)
            ax.plot(n, 100 * binomial_limit(p0, n, 1 - q), color="#555", linestyle=style)
    ax.axhline(overall, color=PALETTE[0], linewidth=1, label=f"region {overall:.1f}%")
    if threshold is not None:
        ax.axhline(
            threshold,
            color=PALETTE[3],
            linewidth=1,
            linestyle="-.",
            label=f"threshold {threshold:g}%",
        )
    colours = {"within": PALETTE[0]}
    for r in rows:
        c = colours.get(str(r.get("funnel", "within")), PALETTE[3])
        ax.scatter([r["episodes"]], [r["adjusted"]], color=c, zorder=3, s=28)
        short = str(r["hospital_name"] or r["hospital"]).replace("Ospedale ", "")[:22]
        ax.annotate(
            short,
            (r["episodes"], r["adjusted"]),
            fontsize=7,
            xytext=(4, 3),
            textcoords="offset points",
        )
    ax.set_xlim(0, top_n)
    ax.set_ylim(
        max(0.0, min([overall] + [r["adjusted"] for r in rows]) - 15),
        min(100.0, max([overall] + [r["adjusted"] for r in rows]) + 15),
    )
    ax.set_xlabel("index episodes")
    ax.set_ylabel("risk-adjusted rate (%)")
    ax.legend(frameon=False, fontsize=8, loc="upper right")
    ax.set_title(title, loc="left", fontsize=10)
    return fig
