"""Yearly prevalence of each registry condition by district, age band and sex.

Prevalence on a reference date is the registry's cases over the residents in the
population base that day, with a Wilson interval. Planners compare districts whose age
structures differ (an inland district is older than the city), so each district also
gets a prevalence directly standardized to the 2013 European Standard Population, with
the Fay-Feuer interval (the same estimator ``bmb.analytics.rates`` uses for rates).
"""

from __future__ import annotations

import pyarrow as pa

from bmb.analytics.population import age_band_sql
from bmb.analytics.rates.intervals import direct_standardized
from bmb.analytics.registry.build import RegistryResult
from bmb.analytics.stats.proportions import wilson_arrays
from bmb.domain.populations import esp2013
from bmb.engines.base import Engine

#: The breakdowns every prevalence table carries (``all`` marks a rolled-up column).
BREAKDOWNS: tuple[tuple[str, ...], ...] = (
    (),
    ("unit_code",),
    ("age_band",),
    ("sex",),
    ("age_band", "sex"),
    ("unit_code", "age_band", "sex"),
)


def prevalence(engine: Engine, registry: RegistryResult) -> pa.Table:
    """Crude prevalence per year and condition, overall and by district, age band, sex.

    Columns: year, condition, unit_code, unit_name, age_band, sex ('all' when rolled
    up), cases, population, prevalence (per 100), lower, upper.
    """
    pop, reg = registry.population, registry.table
    conds = ", ".join(f"('{c}', {i})" for i, c in enumerate(registry.rules.names))
    dims = ("unit_code", "age_band", "sex")
    labels = ", ".join(f"CASE WHEN GROUPING({d}) = 1 THEN 'all' ELSE {d} END AS {d}" for d in dims)
    sets = ", ".join("(" + ", ".join(("year", *b)) + ")" for b in BREAKDOWNS)
    case_sets = ", ".join("(" + ", ".join(("year", "condition", *b)) + ")" for b in BREAKDOWNS)
    people = f"SELECT year, unit_code, age_band, coalesce(sex, '?') AS sex FROM {pop}"
    cases = (
        f"SELECT p.year, r.condition, p.unit_code, p.age_band, coalesce(p.sex, '?') AS sex "
        f"FROM {reg} r JOIN {pop} p ON p.person_id = r.person_id AND p.year = r.year"
    )
    sql = f"""
        WITH c(condition, ord) AS (VALUES {conds}),
        d AS (SELECT year, {labels}, count(*) AS population FROM ({people}) x
              GROUP BY GROUPING SETS ({sets})),
        n AS (SELECT year, condition, {labels}, count(*) AS cases FROM ({cases}) x
              GROUP BY GROUPING SETS ({case_sets}))
        SELECT d.year, c.condition, c.ord, d.unit_code, d.age_band, d.sex,
               coalesce(n.cases, 0) AS cases, d.population
        FROM d CROSS JOIN c
        LEFT JOIN n ON n.year = d.year AND n.condition = c.condition
             AND n.unit_code = d.unit_code AND n.age_band = d.age_band AND n.sex = d.sex
    """
    table = engine.query(sql).sort_by(
        [
            ("year", "ascending"),
            ("ord", "ascending"),
            ("unit_code", "ascending"),
            ("age_band", "ascending"),
            ("sex", "ascending"),
        ]
    )
    names = _unit_names(engine, pop)
    cases = table.column("cases").to_numpy()
    population = table.column("population").to_numpy()
    p, lower, upper = wilson_arrays(cases, population)
    units = table.column("unit_code").to_pylist()
    return pa.table(
        {
            "year": table.column("year").cast(pa.int32()),
            "condition": table.column("condition"),
            "unit_code": table.column("unit_code"),
            "unit_name": [("all" if u == "all" else names.get(u, "")) for u in units],
            "age_band": table.column("age_band"),
            "sex": table.column("sex"),
            "cases": table.column("cases").cast(pa.int64()),
            "population": table.column("population").cast(pa.int64()),
            "prevalence": 100 * p,
            "lower": 100 * lower,
            "upper": 100 * upper,
        },
        schema=PREVALENCE_SCHEMA,
    )


PREVALENCE_SCHEMA = pa.schema(
    [
        ("year", pa.int32()),
        ("condition", pa.string()),
        ("unit_code", pa.string()),
        ("unit_name", pa.string()),
        ("age_band", pa.string()),
        ("sex", pa.string()),
        ("cases", pa.int64()),
        ("population", pa.int64()),
        ("prevalence", pa.float64()),
        ("lower", pa.float64()),
        ("upper", pa.float64()),
    ]
)


def _unit_names(engine: Engine, pop: str) -> dict[str, str]:
    rows = engine.query(f"SELECT DISTINCT unit_code, unit_name FROM {pop}").to_pylist()
    return {str(r["unit_code"]): str(r["unit_name"]) for r in rows}


def standardized_prevalence(engine: Engine, registry: RegistryResult) -> pa.Table:
    """Age-standardized prevalence (ESP 2013, both sexes) per year, condition and district.

    Columns: year, condition, unit_code, unit_name, cases, population, crude,
    standardized, lower, upper (all per 100).
    """
    esp = esp2013()
    bands = [(b.lower, b.upper) for b in esp.bands]
    pop, reg = registry.population, registry.table
    conds = ", ".join(f"('{c}')" for c in registry.rules.names)
    band = age_band_sql("p.age", bands)
    sql = f"""
        WITH c(condition) AS (VALUES {conds}),
        d AS (SELECT p.year, p.unit_code, {band} AS band, count(*) AS population
              FROM {pop} p GROUP BY ALL),
        n AS (SELECT p.year, r.condition, p.unit_code, {band} AS band, count(*) AS cases
              FROM {reg} r JOIN {pop} p ON p.person_id = r.person_id AND p.year = r.year
              GROUP BY ALL)
        SELECT d.year, c.condition, d.unit_code, d.band, coalesce(n.cases, 0) AS cases,
               d.population
        FROM d CROSS JOIN c
        LEFT JOIN n ON n.year = d.year AND n.condition = c.condition
             AND n.unit_code = d.unit_code AND n.band = d.band
    """
    cells: dict[tuple[int, str, str], dict[str, tuple[int, int]]] = {}
    for r in engine.query(sql).to_pylist():
        key = (int(r["year"]), str(r["condition"]), str(r["unit_code"]))
        cells.setdefault(key, {})[str(r["band"])] = (int(r["cases"]), int(r["population"]))
    names = _unit_names(engine, pop)
    labels = [b.label for b in esp.bands]
    order = {c: i for i, c in enumerate(registry.rules.names)}
    out = []
    for (year, cond, unit), by_band in sorted(
        cells.items(), key=lambda kv: (kv[0][0], order[kv[0][1]], kv[0][2])
    ):
        counts = [by_band.get(lab, (0, 0))[0] for lab in labels]
        people = [float(by_band.get(lab, (0, 0))[1]) for lab in labels]
        est = direct_standardized(counts, people, list(esp.weights), per=100.0)
        total = sum(people)
        out.append(
            {
                "year": year,
                "condition": cond,
                "unit_code": unit,
                "unit_name": names.get(unit, ""),
                "cases": sum(counts),
                "population": int(total),
                "crude": 100 * sum(counts) / total if total else float("nan"),
                "standardized": est.value,
                "lower": est.lower,
                "upper": est.upper,
            }
        )
    return pa.Table.from_pylist(out)
