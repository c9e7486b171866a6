"""The risk pyramid and resource-use bands, per resident and year, and their summaries.

Each resident in the population base on a reference date gets:

* a **level** of the pyramid from the registry's count of chronic conditions and the
  frailty markers (configuration: :mod:`bmb.domain.stratification`): level 1 complex
  (4+ conditions or frail), 2 (two or three), 3 (one), 4 (none);
* a **resource-use band** 0-5 from the standard cost of the care they used in the
  12 months (0 no use; 1-5 cut at percentiles of that year's users), in the manner of
  the ACG Resource Utilization Bands;

and the planners get the counts by district and age band, the share of each level set
against the Kaiser pyramid, and how concentrated cost is across the bands.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bmb._version import __version__
from bmb.analytics.cdmsql import values_sql
from bmb.analytics.cohort.runner import engine_name
from bmb.analytics.population import PopulationSpec, require_duckdb
from bmb.analytics.registry import RegistryResult, build_registry
from bmb.analytics.utilization import load_reference_tables, utilization_sql
from bmb.domain.provenance import Provenance
from bmb.domain.stratification import PyramidConfig, default_pyramid
from bmb.engines.capabilities import materialize, snapshot_of

if TYPE_CHECKING:
    import pyarrow as pa

    from bmb.engines.base import Engine


@dataclass(frozen=True, slots=True)
class StratificationResult:
    """Per-resident levels and bands held in the engine (``table``)."""

    table: str
    registry: RegistryResult
    config: PyramidConfig
    provenance: Provenance
    seconds: float
    utilization: str = ""  # care used per resident and date (utilization.COLUMNS)

    def rows(self, engine: Engine) -> pa.Table:
        return engine.query(f"SELECT * FROM {self.table} ORDER BY year, person_id")


def _frail_sql(config: PyramidConfig) -> str:
    f = config.frailty
    parts = []
    if f.conditions:
        parts.append("n_frail_conditions > 0")
    if f.unplanned_admissions is not None:
        parts.append(f"ip_unplanned >= {f.unplanned_admissions}")
    if f.age is not None and f.age_conditions is not None:
        parts.append(f"(age >= {f.age} AND n_conditions >= {f.age_conditions})")
    return " OR ".join(parts) or "false"


def _level_sql(config: PyramidConfig) -> str:
    whens = []
    for lv in config.levels:
        cond = f"n_conditions >= {lv.min_conditions}"
        if lv.frail:
            cond = f"({cond} OR frail)"
        whens.append(f"WHEN {cond} THEN {lv.level}")
    return f"CASE {' '.join(whens)} END"


def build_stratification(
    engine: Engine,
    spec: PopulationSpec,
    *,
    registry: RegistryResult | None = None,
    config: PyramidConfig | None = None,
    table: str = "bmb_stratification",
) -> StratificationResult:
    """Levels and resource bands for every resident on each reference date of ``spec``."""
    require_duckdb(engine, "the risk pyramid")
    cfg = config or default_pyramid()
    t0 = time.perf_counter()
    reg = registry or build_registry(engine, spec)
    load_reference_tables(engine)
    util = f"{table}_utilization"
    anchors = f"SELECT person_id, ref_date AS anchor_date, year FROM {reg.population}"
    materialize(engine, util, utilization_sql(anchors, cfg.costs))
    frail_conditions = values_sql(("condition",), [(c,) for c in cfg.frailty.conditions])
    levels = values_sql(("level", "level_name"), [(lv.level, lv.name) for lv in cfg.levels])
    pct = ", ".join(str(p / 100) for p in cfg.band_percentiles)
    band = " ".join(
        f"WHEN s.cost_total <= q.cuts[{i + 1}] THEN {i + 1}"
        for i in range(len(cfg.band_percentiles))
    )
    sql = f"""
        WITH c AS (
            SELECT r.person_id, r.year, count(*) AS n_conditions,
                   count(*) FILTER (WHERE r.condition IN (SELECT condition FROM
                       ({frail_conditions}) fc)) AS n_frail_conditions
            FROM {reg.table} r GROUP BY 1, 2
        ),
        s AS (
            SELECT p.person_id, p.year, p.ref_date, p.age, p.age_band, p.sex, p.location_id,
                   p.unit_code, p.unit_name, p.asl_code,
                   CAST(coalesce(c.n_conditions, 0) AS INTEGER) AS n_conditions,
                   coalesce(c.n_frail_conditions, 0) AS n_frail_conditions,
                   u.* EXCLUDE (person_id, anchor_date, year)
            FROM {reg.population} p
            LEFT JOIN c ON c.person_id = p.person_id AND c.year = p.year
            JOIN {util} u ON u.person_id = p.person_id AND u.anchor_date = p.ref_date
        ),
        f AS (SELECT s.*, ({_frail_sql(cfg)}) AS frail FROM s),
        q AS (
            SELECT year, quantile_cont(cost_total, [{pct}]) AS cuts
            FROM f WHERE cost_total > 0 GROUP BY year
        ),
        lv AS (
            SELECT s.* EXCLUDE (n_frail_conditions),
                   CAST({_level_sql(cfg)} AS INTEGER) AS level,
                   CAST(CASE WHEN s.cost_total <= 0 THEN 0 {band}
                        ELSE {len(cfg.band_percentiles) + 1} END AS INTEGER) AS resource_band
            FROM f s LEFT JOIN q ON q.year = s.year
        )
        SELECT lv.*, l.level_name FROM lv JOIN ({levels}) l ON l.level = lv.level
    """
    materialize(engine, table, sql)
    provenance = Provenance.now(
        snapshot_id=snapshot_of(engine), bmb_version=__version__, engine=engine_name(engine)
    )
    return StratificationResult(table, reg, cfg, provenance, time.perf_counter() - t0, util)


__all__ = ["StratificationResult", "build_stratification"]
