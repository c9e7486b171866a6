"""What planners read from the pyramid: counts by area and age, Kaiser, cost bands."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from bmb.analytics.stats.proportions import wilson_arrays
from bmb.analytics.stratification import StratificationResult
from bmb.engines.base import Engine


def pyramid_counts(engine: Engine, result: StratificationResult) -> pa.Table:
    """Residents per year and level, overall, by district (unit) and by age band.

    Columns: year, unit_code, unit_name, age_band ('all' when rolled up), level,
    level_name, persons, share (percent of the same year, unit and age band),
    mean_cost.
    """
    t = result.table
    sql = f"""
        WITH g AS (
            SELECT year, level, any_value(level_name) AS level_name,
                   CASE WHEN GROUPING(unit_code) = 1 THEN 'all' ELSE unit_code END AS unit_code,
                   CASE WHEN GROUPING(unit_code) = 1 THEN 'all' ELSE any_value(unit_name) END
                       AS unit_name,
                   CASE WHEN GROUPING(age_band) = 1 THEN 'all' ELSE age_band END AS age_band,
                   count(*) AS persons, avg(cost_total) AS mean_cost
            FROM {t}
            GROUP BY GROUPING SETS ((year, level), (year, level, unit_code),
                                    (year, level, age_band))
        )
        SELECT year, unit_code, unit_name, age_band, level, level_name, persons,
               100.0 * persons / sum(persons) OVER (PARTITION BY year, unit_code, age_band)
                   AS share,
               mean_cost
        FROM g ORDER BY year, unit_code, age_band, level
    """
    return engine.query(sql)


def kaiser_comparison(engine: Engine, result: StratificationResult) -> pa.Table:
    """Share of each Kaiser tier (from the pyramid levels) against its usual range.

    Columns: year, tier, levels, persons, population, share (percent), lower, upper
    (Wilson), reference_low, reference_high, verdict ('within', 'above', 'below':
    whether the interval lies outside the reference range).
    """
    rows = engine.query(
        f"SELECT year, level, count(*) AS n FROM {result.table} GROUP BY ALL"
    ).to_pylist()
    by_year: dict[int, dict[int, int]] = {}
    for r in rows:
        by_year.setdefault(int(r["year"]), {})[int(r["level"])] = int(r["n"])
    out: list[dict[str, object]] = []
    for year in sorted(by_year):
        total = sum(by_year[year].values())
        for tier in result.config.kaiser:
            n = sum(by_year[year].get(lv, 0) for lv in tier.levels)
            p, lo, hi = (float(x[0]) for x in wilson_arrays(np.array([n]), np.array([total])))
            verdict = "within"
            if 100 * lo > tier.high:
                verdict = "above"
            elif 100 * hi < tier.low:
                verdict = "below"
            out.append(
                {
                    "year": year,
                    "tier": tier.tier,
                    "levels": ", ".join(str(lv) for lv in tier.levels),
                    "persons": n,
                    "population": total,
                    "share": 100 * p,
                    "lower": 100 * lo,
                    "upper": 100 * hi,
                    "reference_low": tier.low,
                    "reference_high": tier.high,
                    "verdict": verdict,
                }
            )
    return pa.Table.from_pylist(out)


def band_summary(engine: Engine, result: StratificationResult) -> pa.Table:
    """Persons and standard cost per resource band and year: how concentrated cost is.

    Columns: year, resource_band, band_name, persons, share (percent of residents),
    cost, cost_share (percent of the year's cost), mean_cost, level_1 ... level_k
    (persons of each pyramid level in the band).
    """
    names = result.config.band_names
    levels = [lv.level for lv in result.config.levels]
    per_level = ", ".join(f"count(*) FILTER (WHERE level = {lv}) AS level_{lv}" for lv in levels)
    sql = f"""
        SELECT year, resource_band, count(*) AS persons, sum(cost_total) AS cost,
               avg(cost_total) AS mean_cost, {per_level}
        FROM {result.table} GROUP BY ALL ORDER BY year, resource_band
    """
    t = engine.query(sql)
    years = np.asarray(t.column("year").to_numpy())
    persons = np.asarray(t.column("persons").to_numpy(), dtype=np.float64)
    cost = np.asarray(t.column("cost").to_numpy(), dtype=np.float64)
    share = np.zeros_like(persons)
    cost_share = np.zeros_like(cost)
    for y in np.unique(years):
        m = years == y
        share[m] = 100 * persons[m] / persons[m].sum()
        cost_share[m] = 100 * cost[m] / max(cost[m].sum(), 1e-9)
    band_names = [
        names[b] if b < len(names) else str(b) for b in t.column("resource_band").to_pylist()
    ]
    t = t.add_column(2, "band_name", pa.array(band_names))
    t = t.add_column(4, "share", pa.array(share))
    return t.add_column(6, "cost_share", pa.array(cost_share))
