"""Build the chronic-condition registry: rules (YAML) to SQL to person-year flags.

Three steps, all in the engine:

1. **evidence** - every CDM row any criterion could use, once, over the widest window
   (diagnoses by setting and position, dispensings by ATC class, exemptions with their
   end date, lab values past a threshold), as ``(person_id, cid, d, d_end)``;
2. **met** - for each person and reference date, the criteria met: enough records on
   distinct days, far enough apart, inside the criterion's look-back window, at the
   ages it applies to;
3. **flags** - OR over each condition's criteria, after the ``unless`` hierarchy, kept
   with the sources that spoke (the BDA keeps every flag and where it came from).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from bmb._version import __version__
from bmb.analytics.cdmsql import (
    EMERGENCY,
    INPATIENT,
    PRINCIPAL,
    atc_products_sql,
    diagnosis_concepts_sql,
    loinc_concepts_sql,
    nodot,
    session_table,
    values_sql,
)
from bmb.analytics.cohort.runner import engine_name
from bmb.analytics.population import PopulationSpec, build_population, require_duckdb
from bmb.domain.chronic import Criterion, Position, RuleSet, Source, default_rules
from bmb.domain.provenance import Provenance
from bmb.engines.capabilities import materialize, snapshot_of

if TYPE_CHECKING:
    import pyarrow as pa

    from bmb.engines.base import Engine

SOURCES = tuple(s.value for s in Source)

_CRITERIA_COLUMNS = (
    "cid",
    "condition",
    "source",
    "label",
    "min_count",
    "min_span",
    "lookback_days",
    "active",
    "principal",
    "above",
    "below",
    "age_min",
    "age_max",
    "n_unless",
)


@dataclass(frozen=True, slots=True)
class RegistryResult:
    """A registry built in an engine session: where its rows are, and how it was made.

    ``table`` holds one row per person, year and condition flagged; ``population`` the
    person-year base (the denominators); ``criteria_table`` the criteria each flag met.
    """

    rules: RuleSet
    spec: PopulationSpec
    table: str
    population: str
    criteria_table: str
    provenance: Provenance
    seconds: float
    step_seconds: dict[str, float] = field(default_factory=dict)

    def rows(self, engine: Engine) -> pa.Table:
        """The registry as an Arrow table (person_id, year, condition, via_*, ...)."""
        return engine.query(f"SELECT * FROM {self.table} ORDER BY year, person_id, condition")


def criteria_rows(rules: RuleSet) -> list[tuple[object, ...]]:
    """One row per criterion, numbered in rule order (``cid``)."""
    rows: list[tuple[object, ...]] = []
    for cond in rules.conditions:
        for k in cond.criteria:
            rows.append(
                (
                    len(rows) + 1,
                    cond.name,
                    k.source.value,
                    k.label,
                    k.min_count,
                    k.min_span_days,
                    k.lookback_days,
                    k.active_at_reference,
                    k.position is Position.PRINCIPAL,
                    k.above,
                    k.below,
                    k.age_min,
                    k.age_max,
                    len(k.unless),
                )
            )
    return rows


def _numbered(rules: RuleSet) -> list[tuple[int, str, Criterion]]:
    out: list[tuple[int, str, Criterion]] = []
    for cond in rules.conditions:
        for k in cond.criteria:
            out.append((len(out) + 1, cond.name, k))
    return out


def evidence_sql(
    rules: RuleSet,
    lo: str,
    hi: str,
    criteria: str,
    persons: str | None = None,
    engine: Engine | None = None,
) -> str:
    """The evidence rows ``(person_id, cid, d, d_end)`` of every criterion, dates lo..hi.

    ``persons`` (a query of person_id) restricts every source to those persons: scoring
    one person reads only their rows.
    """
    numbered = _numbered(rules)
    dx = [
        (cid, system, p)
        for cid, _, k in numbered
        if k.source in (Source.HOSPITAL, Source.EMERGENCY)
        for system, codes in (("icd9cm", k.icd9cm), ("icd10", k.icd10))
        for p in codes
    ]
    atc = [(cid, p) for cid, _, k in numbered if k.source is Source.PHARMACY for p in k.codes]
    exe = [(cid, c) for cid, _, k in numbered if k.source is Source.EXEMPTION for c in k.codes]
    exdx = [
        (cid, p)
        for cid, _, k in numbered
        if k.source is Source.EXEMPTION
        for p in (*k.icd9cm, *k.icd10)
    ]
    lab = [(cid, c) for cid, _, k in numbered if k.source is Source.LAB for c in k.codes]
    dx_map = diagnosis_concepts_sql(values_sql(("key", "system", "prefix"), list(dx)))
    rx_map = atc_products_sql(values_sql(("key", "prefix"), list(atc)))
    lab_map = loinc_concepts_sql(values_sql(("key", "code"), list(lab)))
    if engine is not None:  # computed once per session, then read by name
        dx_map, rx_map, lab_map = (
            f"SELECT * FROM {session_table(engine, m)}" for m in (dx_map, rx_map, lab_map)
        )
    exe_rel = values_sql(("cid", "code"), list(exe))
    exdx_rel = values_sql(("cid", "prefix"), list(exdx))

    def only(alias: str) -> str:
        return "" if persons is None else f"AND {alias}.person_id IN ({persons})"

    until = (
        "try_cast(regexp_extract(o.qualifier_source_value, "
        "'until (\\d{4}-\\d{2}-\\d{2})', 1) AS DATE)"
    )
    return f"""
        SELECT co.person_id, m.key AS cid, co.condition_start_date AS d,
               CAST(NULL AS DATE) AS d_end
        FROM condition_occurrence co
        JOIN ({dx_map}) m ON m.concept_id = co.condition_source_concept_id
        JOIN {criteria} k ON k.cid = m.key
        JOIN visit_occurrence v ON v.visit_occurrence_id = co.visit_occurrence_id
        WHERE co.condition_start_date BETWEEN {lo} AND {hi} {only("co")}
          AND v.visit_concept_id = CASE k.source WHEN 'hospital' THEN {INPATIENT}
                                   ELSE {EMERGENCY} END
          AND (NOT k.principal OR co.condition_status_concept_id = {PRINCIPAL})
        UNION ALL
        SELECT de.person_id, m.key, de.drug_exposure_start_date, NULL
        FROM drug_exposure de JOIN ({rx_map}) m ON m.concept_id = de.drug_concept_id
        WHERE de.drug_exposure_start_date BETWEEN {lo} AND {hi} {only("de")}
        UNION ALL
        SELECT o.person_id, x.cid, o.observation_date, {until}
        FROM observation o JOIN ({exe_rel}) x
          ON o.observation_source_value = x.code
          OR starts_with(o.observation_source_value, x.code || '.')
        WHERE o.observation_date <= {hi} {only("o")}
          AND (x.cid NOT IN (SELECT cid FROM ({exdx_rel}) q)
               OR EXISTS (SELECT 1 FROM ({exdx_rel}) y WHERE y.cid = x.cid
                          AND starts_with({nodot("coalesce(o.value_as_string, '')")},
                                          {nodot("y.prefix")})))
        UNION ALL
        SELECT ms.person_id, m.key, ms.measurement_date, NULL
        FROM measurement ms JOIN ({lab_map}) m ON m.concept_id = ms.measurement_concept_id
        JOIN {criteria} k ON k.cid = m.key
        WHERE ms.measurement_date BETWEEN {lo} AND {hi} AND ms.value_as_number IS NOT NULL
          {only("ms")}
          AND (k.above IS NULL OR ms.value_as_number >= k.above)
          AND (k.below IS NULL OR ms.value_as_number < k.below)
    """


def met_sql(population: str, evidence: str, criteria: str) -> str:
    """Criteria met per person and reference date (count, span, window, ages)."""
    return f"""
        SELECT p.person_id, p.year, e.cid, count(DISTINCT e.d) AS n,
               min(e.d) AS first_d, max(e.d) AS last_d
        FROM {population} p
        JOIN {evidence} e ON e.person_id = p.person_id
        JOIN {criteria} k ON k.cid = e.cid
        WHERE e.d <= p.ref_date
          AND (NOT k.active OR e.d_end IS NULL OR e.d_end >= p.ref_date)
          AND (k.lookback_days IS NULL OR e.d > p.ref_date - CAST(k.lookback_days AS INTEGER))
          AND (k.age_min IS NULL OR p.age >= k.age_min)
          AND (k.age_max IS NULL OR p.age <= k.age_max)
        GROUP BY p.person_id, p.year, e.cid, k.min_count, k.min_span
        HAVING count(DISTINCT e.d) >= k.min_count
           AND date_diff('day', min(e.d), max(e.d)) >= k.min_span
    """


def flags_sql(rules: RuleSet, population: str, met: str, criteria: str) -> str:
    """OR over criteria after the ``unless`` hierarchy; condition-level sex and age."""
    unless = [(cid, blocker) for cid, _, k in _numbered(rules) for blocker in k.unless]
    conds = [(c.name, c.sex, c.age_min) for c in rules.conditions]
    unless_rel = values_sql(("cid", "blocker"), list(unless))
    cond_rel = values_sql(("condition", "sex", "age_min"), list(conds))
    via = ", ".join(f"bool_or(k.source = '{s}') AS via_{s}" for s in SOURCES)
    return f"""
        WITH base AS (
            SELECT DISTINCT m.person_id, m.year, k.condition
            FROM {met} m JOIN {criteria} k ON k.cid = m.cid WHERE k.n_unless = 0
        ),
        kept AS (
            SELECT m.* FROM {met} m JOIN {criteria} k ON k.cid = m.cid
            WHERE k.n_unless = 0 OR NOT EXISTS (
                SELECT 1 FROM ({unless_rel}) u JOIN base b ON b.condition = u.blocker
                WHERE u.cid = m.cid AND b.person_id = m.person_id AND b.year = m.year)
        )
        SELECT m.person_id, m.year, k.condition, {via},
               min(m.first_d) AS first_evidence, CAST(count(*) AS INTEGER) AS n_criteria
        FROM kept m
        JOIN {criteria} k ON k.cid = m.cid
        JOIN {population} p ON p.person_id = m.person_id AND p.year = m.year
        JOIN ({cond_rel}) c ON c.condition = k.condition
        WHERE (c.sex IS NULL OR p.sex = c.sex) AND (c.age_min IS NULL OR p.age >= c.age_min)
        GROUP BY m.person_id, m.year, k.condition
    """


def build_registry(
    engine: Engine,
    spec: PopulationSpec,
    rules: RuleSet | None = None,
    *,
    population: str | None = None,
    prefix: str = "bmb_registry",
) -> RegistryResult:
    """Flag every resident's chronic conditions on each reference date of ``spec``.

    ``population`` names an already built base (:func:`build_population`) to reuse.
    """
    require_duckdb(engine, "the chronic-condition registry")
    rules = rules or default_rules()
    t0 = time.perf_counter()
    steps: dict[str, float] = {}

    def step(name: str, started: float) -> float:
        now = time.perf_counter()
        steps[name] = now - started
        return now

    t = t0
    pop = population or build_population(engine, spec, table=f"{prefix}_population")
    t = step("population", t)
    criteria = f"{prefix}_criteria_def"
    materialize(engine, criteria, values_sql(_CRITERIA_COLUMNS, criteria_rows(rules)))
    first, last = min(spec.reference_dates), max(spec.reference_dates)
    lo = f"DATE '{(first - timedelta(days=rules.max_lookback_days + 1)).isoformat()}'"
    hi = f"DATE '{last.isoformat()}'"
    evidence = f"{prefix}_evidence"
    persons = None if spec.persons is None else f"SELECT person_id FROM {pop}"
    materialize(engine, evidence, evidence_sql(rules, lo, hi, criteria, persons, engine))
    t = step("evidence", t)
    met = f"{prefix}_met"
    materialize(engine, met, met_sql(pop, evidence, criteria))
    engine.execute(f"DROP TABLE IF EXISTS {evidence}")  # the largest table: free it now
    t = step("criteria met", t)
    materialize(engine, prefix, flags_sql(rules, pop, met, criteria))
    step("flags", t)
    provenance = Provenance.now(
        snapshot_id=snapshot_of(engine), bmb_version=__version__, engine=engine_name(engine)
    )
    return RegistryResult(
        rules=rules,
        spec=spec,
        table=prefix,
        population=pop,
        criteria_table=met,
        provenance=provenance,
        seconds=time.perf_counter() - t0,
        step_seconds=steps,
    )
