"""Table 1: baseline characteristics of cohorts side by side, with standardized
mean differences.

Each cohort row (a person's cohort period) is a unit, as in FeatureExtraction. For a
binary covariate the mean is the proportion and the standard deviation
``sqrt(p(1-p))``; for a continuous one both come from sums over all rows. The
standardized mean difference of each cohort against the first is CohortMethod's
``(mean1 - mean2) / sqrt((sd1^2 + sd2^2) / 2)``; an absolute SMD above 0.1 is the
conventional sign of imbalance.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bmb._version import __version__
from bmb.analytics.characterization.covariates import CovariateBuilder, default_builders
from bmb.analytics.cohort import sqltext as q
from bmb.analytics.cohort.runner import engine_name
from bmb.analytics.rates.common import CohortRef
from bmb.domain.provenance import Provenance
from bmb.engines.capabilities import drop, materialize, snapshot_of, tuned_call

if TYPE_CHECKING:
    import pyarrow as pa

    from bmb.engines.base import Engine


@dataclass(frozen=True, slots=True)
class CohortSummary:
    name: str
    rows: int
    persons: int


@dataclass(frozen=True, slots=True)
class CovariateValue:
    """One covariate in one cohort."""

    n: int  # rows having it (binary) or rows measured (continuous)
    mean: float  # proportion for binary covariates
    sd: float


@dataclass(frozen=True, slots=True)
class Table1Row:
    analysis: str
    covariate_id: int
    name: str
    kind: str  # binary or continuous
    values: tuple[CovariateValue, ...]  # one per cohort, in cohort order
    smd: tuple[float | None, ...]  # each cohort against the first (first is None)


@dataclass(frozen=True, slots=True)
class Table1:
    cohorts: tuple[CohortSummary, ...]
    rows: tuple[Table1Row, ...]
    provenance: Provenance

    def row(self, analysis: str, covariate_id: int) -> Table1Row:
        return next(
            r for r in self.rows if r.analysis == analysis and r.covariate_id == covariate_id
        )

    def to_arrow(self) -> pa.Table:
        import pyarrow as pa

        records = []
        for r in self.rows:
            rec: dict[str, object] = {
                "analysis": r.analysis,
                "covariate_id": r.covariate_id,
                "covariate": r.name,
                "kind": r.kind,
            }
            for i, (c, v) in enumerate(zip(self.cohorts, r.values, strict=True)):
                rec[f"c{i}_name"] = c.name
                rec[f"c{i}_n"] = v.n
                rec[f"c{i}_mean"] = v.mean
                rec[f"c{i}_sd"] = v.sd
                if i:
                    rec[f"c{i}_smd"] = r.smd[i]
            records.append(rec)
        return pa.Table.from_pylist(records)


def standardized_difference(m1: float, s1: float, m2: float, s2: float) -> float | None:
    """CohortMethod's SMD; None when both groups have no variance and equal means."""
    pooled = math.sqrt((s1 * s1 + s2 * s2) / 2)
    if pooled == 0:
        return None if m1 == m2 else math.copysign(math.inf, m1 - m2)
    return (m1 - m2) / pooled


@tuned_call
def characterize(
    engine: Engine,
    cohorts: Sequence[CohortRef],
    *,
    builders: Sequence[CovariateBuilder] | None = None,
) -> Table1:
    """Table 1 of ``cohorts`` (the first is the reference for SMDs)."""
    if not cohorts:
        raise ValueError("characterize needs at least one cohort")
    builders = tuple(builders) if builders is not None else default_builders()
    d = engine.dialect
    rows_name = f"bmb_ch_{secrets.token_hex(4)}_rows"
    union = " UNION ALL ".join(
        f"SELECT CAST({i} AS BIGINT) AS cohort_definition_id, subject_id, cohort_start_date, "
        f"cohort_end_date FROM ({c.select()}) C{i}"
        for i, c in enumerate(cohorts)
    )
    rows_sql = (
        "SELECT cohort_definition_id, subject_id, cohort_start_date, cohort_end_date, "
        "ROW_NUMBER() OVER (ORDER BY cohort_definition_id, subject_id, cohort_start_date) "
        f"AS row_id FROM ({union}) U"
    )
    materialize(engine, rows_name, q.transpile(rows_sql, d))
    try:
        sizes = engine.query(
            q.transpile(
                "SELECT cohort_definition_id, COUNT(*) AS n, COUNT(DISTINCT subject_id) AS p "
                f"FROM {rows_name} GROUP BY cohort_definition_id",
                d,
            )
        ).to_pylist()
        stats = []
        for b in builders:
            for rec in engine.query(q.transpile(b.sql(rows_name), d)).to_pylist():
                stats.append((b.analysis, rec))
    finally:
        drop(engine, rows_name)
    n_rows = {int(s["cohort_definition_id"]): int(s["n"]) for s in sizes}
    n_persons = {int(s["cohort_definition_id"]): int(s["p"]) for s in sizes}
    summaries = tuple(
        CohortSummary(c.name or c.table, n_rows.get(i, 0), n_persons.get(i, 0))
        for i, c in enumerate(cohorts)
    )
    return Table1(summaries, tuple(_rows(stats, summaries)), _provenance(engine))


def _provenance(engine: Engine) -> Provenance:
    return Provenance.now(
        snapshot_id=snapshot_of(engine), bmb_version=__version__, engine=engine_name(engine)
    )


def _value(kind: str, rec: dict[str, object] | None, total: int) -> CovariateValue:
    if rec is None or total == 0:
        return CovariateValue(0, 0.0, 0.0)
    n = int(rec["n"])  # type: ignore[call-overload]
    if kind == "binary":
        p = n / total
        return CovariateValue(n, p, math.sqrt(p * (1 - p)))
    s, ss = float(rec["sum_value"] or 0), float(rec["sum_sq_value"] or 0)  # type: ignore[arg-type]
    mean = s / n if n else 0.0
    var = (ss - n * mean * mean) / (n - 1) if n > 1 else 0.0
    return CovariateValue(n, mean, math.sqrt(max(var, 0.0)))


def _rows(
    stats: list[tuple[str, dict[str, object]]], cohorts: tuple[CohortSummary, ...]
) -> list[Table1Row]:
    by_key: dict[tuple[str, int], dict[int, dict[str, object]]] = {}
    meta: dict[tuple[str, int], tuple[str, str]] = {}
    order: list[tuple[str, int]] = []
    for analysis, rec in stats:
        key = (analysis, int(rec["covariate_id"]))  # type: ignore[call-overload]
        if key not in by_key:
            by_key[key] = {}
            order.append(key)
        by_key[key][int(rec["cohort_definition_id"])] = rec  # type: ignore[call-overload]
        meta[key] = (str(rec["covariate_name"]), str(rec["kind"]))
    out = []
    for key in order:
        name, kind = meta[key]
        values = tuple(_value(kind, by_key[key].get(i), c.rows) for i, c in enumerate(cohorts))
        ref = values[0]
        smd = (
            None,
            *(standardized_difference(v.mean, v.sd, ref.mean, ref.sd) for v in values[1:]),
        )
        out.append(Table1Row(key[0], key[1], name, kind, values, smd))
    return out
