"""Run a compiled cohort on an engine and collect its rows and reports.

The runner materializes each step of the plan under a run-unique prefix, reads the
cohort rows and the rule masks, and drops what it created (unless asked to keep the
cohort for characterization). The result records its provenance.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow.compute as pc

from bmb._version import __version__
from bmb.analytics.cohort.attrition import Attrition, attrition
from bmb.analytics.cohort.compiler import compile_cohort
from bmb.analytics.cohort.sqltext import transpile
from bmb.domain.cohort import CohortDefinition
from bmb.domain.provenance import Provenance
from bmb.engines.capabilities import drop, materialize, snapshot_of, tuned

if TYPE_CHECKING:
    import pyarrow as pa

    from bmb.engines.base import Engine


@dataclass(frozen=True, slots=True)
class CohortResult:
    """A generated cohort: its rows (OHDSI cohort table shape) and its reports."""

    cohort_id: int
    name: str
    rows: pa.Table  # cohort_definition_id, subject_id, cohort_start_date, cohort_end_date
    primary_events: int
    qualified_events: int
    included_events: int
    by_event: Attrition
    by_person: Attrition
    censored_persons: int  # persons whose every era fell outside the censor window
    provenance: Provenance
    seconds: float
    table: str | None = None  # the engine table holding the rows, if kept
    step_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def persons(self) -> int:
        import pyarrow.compute as pc

        return int(pc.count_distinct(self.rows.column("subject_id")).as_py())

    @property
    def records(self) -> int:
        return int(self.rows.num_rows)


def engine_name(engine: Engine) -> str:
    return str(getattr(engine, "label", None) or engine.dialect)


def generate_cohort(
    engine: Engine,
    definition: CohortDefinition,
    *,
    cohort_id: int = 1,
    keep_as: str | None = None,
) -> CohortResult:
    """Generate ``definition`` on ``engine``.

    With ``keep_as``, the cohort rows stay in the engine under that name (a temporary
    table with ``cohort_definition_id, subject_id, cohort_start_date,
    cohort_end_date``) for characterization or rates; the caller drops it.
    """
    started = time.perf_counter()
    prefix = f"bmb_{secrets.token_hex(4)}"
    created: list[str] = []
    timings: dict[str, float] = {}
    try:
        with tuned(engine):
            rows, counts, masks = _run(
                engine, definition, prefix, cohort_id, keep_as, created, timings
            )
    finally:
        for name in reversed(created):
            drop(engine, name)
    names = definition.rule_names
    rows = _normalize(rows)
    persons_out = int(pc.count_distinct(rows.column("subject_id")).as_py()) if rows.num_rows else 0
    return CohortResult(
        cohort_id=cohort_id,
        name=definition.name,
        rows=rows,
        primary_events=int(counts["primary_events"]),
        qualified_events=int(counts["qualified_events"]),
        included_events=int(counts["included_events"]),
        by_event=attrition("events", _masks(masks, 0), names),
        by_person=attrition("persons", _masks(masks, 1), names),
        censored_persons=int(counts["era_persons"]) - persons_out,
        provenance=Provenance.now(
            snapshot_id=snapshot_of(engine), bmb_version=__version__, engine=engine_name(engine)
        ),
        seconds=time.perf_counter() - started,
        table=keep_as,
        step_seconds=timings,
    )


def _run(
    engine: Engine,
    definition: CohortDefinition,
    prefix: str,
    cohort_id: int,
    keep_as: str | None,
    created: list[str],
    timings: dict[str, float],
) -> tuple[pa.Table, dict[str, Any], list[dict[str, Any]]]:
    """Materialize the plan's steps (recording them in ``created``), read the results."""
    dialect = engine.dialect
    plan = compile_cohort(definition, prefix)
    first = plan.steps[0]
    t0 = time.perf_counter()
    materialize(engine, first.name, transpile(first.sql, dialect))
    created.append(first.name)
    concepts = _concepts(engine, first.name)
    if concepts is not None:  # concept sets small enough to inline: scans filter
        plan = compile_cohort(definition, prefix, concepts)
    timings["codesets"] = time.perf_counter() - t0
    for name, sql in plan.statements(dialect)[1:]:
        t0 = time.perf_counter()
        materialize(engine, name, sql)
        created.append(name)
        timings[name.removeprefix(prefix + "_")] = time.perf_counter() - t0
    cohort_sql = (
        f"SELECT CAST({int(cohort_id)} AS BIGINT) AS cohort_definition_id, subject_id, "
        f"cohort_start_date, cohort_end_date FROM ({plan.cohort}) C"
    )
    order = "ORDER BY subject_id, cohort_start_date"
    if keep_as is not None:
        materialize(engine, keep_as, transpile(cohort_sql, dialect))
        rows = engine.query(transpile(f"SELECT * FROM {keep_as} {order}", dialect))
    else:
        rows = engine.query(transpile(f"{cohort_sql} {order}", dialect))
    counts = engine.query(transpile(plan.counts, dialect)).to_pylist()[0]
    masks = engine.query(transpile(plan.masks, dialect)).to_pylist()
    return rows, counts, masks


#: Concept sets larger than this are joined rather than written as ``IN`` lists.
INLINE_LIMIT = 10_000


def _concepts(engine: Engine, table: str) -> dict[int, tuple[int, ...]] | None:
    """Each concept set's ids, if every set is small enough to inline."""
    rows = engine.query(
        transpile(
            f"SELECT codeset_id, concept_id FROM {table} ORDER BY codeset_id, concept_id",
            engine.dialect,
        )
    )
    ids: dict[int, list[int]] = {}
    for codeset, concept in zip(
        rows.column("codeset_id").to_pylist(), rows.column("concept_id").to_pylist(), strict=True
    ):
        if codeset is not None and concept is not None:
            ids.setdefault(int(codeset), []).append(int(concept))
    if any(len(v) > INLINE_LIMIT for v in ids.values()):
        return None
    return {k: tuple(v) for k, v in ids.items()}


def _masks(rows: list[dict[str, Any]], mode: int) -> dict[int, int]:
    return {
        int(r["inclusion_rule_mask"]): int(r["n"])
        for r in rows
        if r["mode"] == mode and r["inclusion_rule_mask"] is not None and r["n"]
    }


def _normalize(rows: pa.Table) -> pa.Table:
    """The OHDSI cohort table's types on every engine: BIGINT ids, DATE dates."""
    import pyarrow as pa

    schema = pa.schema(
        [
            ("cohort_definition_id", pa.int64()),
            ("subject_id", pa.int64()),
            ("cohort_start_date", pa.date32()),
            ("cohort_end_date", pa.date32()),
        ]
    )
    return rows.select(schema.names).cast(schema)
