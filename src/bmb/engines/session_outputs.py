"""What may leave a session: tables computed by the engine, and free SQL aggregates.

Invariant 5: every aggregate that leaves has passed the output policy. The engine does
the counting itself wherever it can, because it then knows what the policy needs:

* :func:`tabulate` counts distinct persons per cell (and per margin), and for sums and
  means each person's contribution, so small counts, secondary suppression, the
  dominance rules and (under a privacy budget) differentially private noise all apply
  automatically; it also sketches the population for the differencing guard.
* :func:`custom` takes a free SQL aggregate. Its integer columns are taken as counts
  (redacted and rounded) unless declared dimensions; other numbers are statistics,
  released only on rows whose counts are, and flagged for reviewers because their
  contributors cannot be checked. Person-level rows are refused: they are extracts.

Both return a :class:`SessionOutput`: the table that would leave, the report, and what
the governance store needs (population sketch, true cells, epsilon).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bmb.domain.disclosure.differencing import PopulationSketch
from bmb.domain.disclosure.models import ModelCheck, ModelFacts, check_model
from bmb.domain.disclosure.report import Finding, OutputKind, OutputReport, Severity
from bmb.domain.disclosure.secondary import Key
from bmb.domain.disclosure.tables import (
    CellStatus,
    Magnitude,
    ProtectedTable,
    TableInput,
    normalize_key,
    protect_table,
)
from bmb.domain.errors import UsageError
from bmb.domain.governance.scope import person_level_ids
from bmb.engines.session import PermitSession

if TYPE_CHECKING:
    import pyarrow as pa

TOTAL = "Total"
MISSING = "(missing)"
_TOP = 3


@dataclass(frozen=True)
class SessionOutput:
    """An output ready for the review queue."""

    kind: OutputKind
    table: pa.Table  # what leaves, after the policy
    report: OutputReport
    sql: str
    sketch: PopulationSketch | None = None
    cells_signature: str | None = None
    cells: dict[tuple[Any, ...], int] | None = None
    epsilon: float | None = None


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _columns(session: PermitSession, relation: str) -> dict[str, str]:
    rows = session.internal(f"DESCRIBE {relation}").fetchall()
    return {str(r[0]): str(r[1]) for r in rows}


def _stage(session: PermitSession, sql: str, suffix: str) -> tuple[str, str]:
    """Materialize the checked source query in the hidden schema; (table, checked sql)."""
    checked = session.check(sql)
    if checked.kind != "query":
        raise UsageError("an output is computed from a query (SELECT ...)")
    name = f"{session.hidden_schema}.src_{suffix}"
    session.internal(f"CREATE OR REPLACE TABLE {name} AS {checked.sql}").fetchall()
    rows = session.internal(f"SELECT count(*) FROM {name}").fetchall()[0][0]
    session.record(checked.sql, int(rows))
    return name, checked.sql


def _sketch(session: PermitSession, relation: str) -> PopulationSketch:
    ids = session.internal(f"SELECT DISTINCT person_id FROM {relation}").fetchall()
    return PopulationSketch.of(int(r[0]) for r in ids if r[0] is not None)


def tabulate(
    session: PermitSession,
    source_sql: str,
    *,
    by: Sequence[str],
    sums: Sequence[str] = (),
    means: Sequence[str] = (),
    margins: bool = True,
) -> SessionOutput:
    """Persons per cell of ``by`` (with margins), and sums/means of numeric columns.

    ``source_sql`` returns one row per person and event, with a ``person_id`` column:
    the unit that is counted. Sums and means add each person's values first, so the
    dominance rules judge persons, not rows.
    """
    policy = session.permit.policy
    src, checked = _stage(session, source_sql, "tab")
    cols = _columns(session, src)
    if "person_id" not in cols:
        raise UsageError("the source query of a table needs a person_id column (the unit)")
    for c in [*by, *sums, *means]:
        if c not in cols:
            raise UsageError(f"column {c} is not in the source query's result")
    if not by:
        raise UsageError("tabulate needs at least one dimension (--by)")
    measures = list(dict.fromkeys([*sums, *means]))
    dp_eps = policy.dp_epsilon
    if dp_eps is not None and measures:
        raise UsageError("differentially private tables release counts only (no sums or means)")
    dims = tuple(by)
    if dp_eps is not None:
        counts, magnitudes = _dp_counts(session, src, dims, margins, dp_eps)
    else:
        counts, magnitudes = _exact_cells(session, src, dims, measures, margins)
    protected = protect_table(TableInput(dims, counts, magnitudes), policy)
    table = _render(dims, counts, protected, sums, means)
    findings = _table_findings(protected)
    if dp_eps is not None:
        findings.append(
            Finding(
                "differential_privacy",
                Severity.INFO,
                f"discrete Laplace noise, epsilon {dp_eps}, at most "
                f"{policy.dp_max_contributions} cell(s) per person",
            )
        )
    report = OutputReport(
        OutputKind.TABLE,
        policy,
        table.num_rows,
        tuple(table.column_names),
        tuple(findings),
        _table_measures(protected, session),
    )
    signature = "|".join(dims)
    return SessionOutput(
        OutputKind.TABLE,
        table,
        report,
        checked,
        sketch=_sketch(session, src),
        cells_signature=signature,
        cells={
            ("n", *("Total" if v is None else str(v) for v in k)): int(c) for k, c in counts.items()
        },
        epsilon=dp_eps,
    )


def _dim_expr(d: str) -> str:
    return f"coalesce(CAST({_ident(d)} AS VARCHAR), '{MISSING}') AS {_ident(d)}"


def _exact_cells(
    session: PermitSession,
    src: str,
    dims: tuple[str, ...],
    measures: list[str],
    margins: bool,
) -> tuple[dict[Key, int], dict[str, dict[Key, Magnitude]]]:
    counts: dict[Key, int] = {}
    magnitudes: dict[str, dict[Key, Magnitude]] = {m: {} for m in measures}
    sets = _grouping_sets(dims, margins)
    for group in sets:
        keys = [_ident(d) for d in group]
        inner_dims = [_dim_expr(d) for d in group]
        totals = [f"sum(CAST({_ident(m)} AS DOUBLE)) AS t{i}" for i, m in enumerate(measures)]
        inner = ", ".join([*inner_dims, "person_id", *totals])
        outer = [
            *keys,
            "count(*) AS n",
            *(f"sum(t{i}), sum(abs(t{i})), max(abs(t{i}), {_TOP})" for i in range(len(measures))),
        ]
        group_by = ", ".join([*keys, "person_id"])
        sql = (
            f"SELECT {', '.join(outer)} FROM (SELECT {inner} FROM {src} "
            f"WHERE person_id IS NOT NULL GROUP BY {group_by})"
            + (f" GROUP BY {', '.join(keys)}" if keys else "")
        )
        for row in session.internal(sql).fetchall():
            values = dict(zip(group, row[: len(group)], strict=True))
            key = tuple(values.get(d) for d in dims)  # None: a margin over d
            counts[key] = int(row[len(group)])
            rest = row[len(group) + 1 :]
            for i, m in enumerate(measures):
                total, abs_total, top = rest[3 * i : 3 * i + 3]
                magnitudes[m][key] = Magnitude(
                    float(total or 0.0),
                    float(abs_total or 0.0),
                    tuple(float(t) for t in (top or []) if t is not None),
                )
    return counts, magnitudes


def _grouping_sets(dims: tuple[str, ...], margins: bool) -> list[tuple[str, ...]]:
    if not margins:
        return [dims]
    out: list[tuple[str, ...]] = []
    for r in range(len(dims), -1, -1):
        out.extend(itertools.combinations(dims, r))
    return out


def _dp_counts(
    session: PermitSession,
    src: str,
    dims: tuple[str, ...],
    margins: bool,
    epsilon: float,
) -> tuple[dict[Key, int], dict[str, dict[Key, Magnitude]]]:
    from bmb.engines.dp import noisy_counts

    c = session.permit.policy.dp_max_contributions
    keys = [_ident(d) for d in dims]
    bounded = (
        f"SELECT {', '.join(keys)} FROM (SELECT DISTINCT {', '.join(_dim_expr(d) for d in dims)},"
        f" person_id FROM {src} WHERE person_id IS NOT NULL) QUALIFY row_number() OVER "
        f"(PARTITION BY person_id ORDER BY hash({', '.join(keys)})) <= {c}"
    )
    observed = {
        tuple(r[:-1]): int(r[-1])
        for r in session.internal(
            f"SELECT {', '.join(keys)}, count(*) FROM ({bounded}) GROUP BY ALL"
        ).fetchall()
    }
    levels = [sorted({k[i] for k in observed}, key=str) for i in range(len(dims))]
    cells = list(itertools.product(*levels))
    noisy = noisy_counts(
        [observed.get(cell, 0) for cell in cells], epsilon=epsilon, max_contributions=c
    )
    finest = dict(zip(cells, noisy, strict=True))
    counts: dict[Key, int] = {}
    for group in _grouping_sets(dims, margins):
        for cell, value in finest.items():
            key = tuple(v if d in group else None for d, v in zip(dims, cell, strict=True))
            counts[key] = counts.get(key, 0) + value
    return counts, {}


def _render(
    dims: tuple[str, ...],
    counts: dict[Key, int],
    protected: ProtectedTable,
    sums: Sequence[str],
    means: Sequence[str],
) -> pa.Table:
    import pyarrow as pa

    order = sorted(counts, key=lambda k: tuple((v is None, str(v)) for v in k))
    data: dict[str, list[Any]] = {d: [] for d in dims}
    data["n"] = []
    for m in sums:
        data[f"sum_{m}"] = []
    for m in means:
        data[f"mean_{m}"] = []
    for key in order:
        for d, v in zip(dims, key, strict=True):
            data[d].append(TOTAL if v is None else v)
        data["n"].append(protected.released_counts[key])
        for m in sums:
            data[f"sum_{m}"].append(protected.released_measures[m][key])
        for m in means:
            total = protected.released_measures[m][key]
            data[f"mean_{m}"].append(None if total is None else total / counts[key])
    schema = pa.schema(
        [*(pa.field(d, pa.string()) for d in dims), pa.field("n", pa.int64())]
        + [pa.field(f"sum_{m}", pa.float64()) for m in sums]
        + [pa.field(f"mean_{m}", pa.float64()) for m in means]
    )
    return pa.table(data, schema=schema)


def _table_findings(protected: ProtectedTable) -> list[Finding]:
    statuses = list(protected.count_status.values())
    small = statuses.count(CellStatus.SMALL)
    secondary = statuses.count(CellStatus.SECONDARY)
    out = [
        Finding(
            "small_counts",
            Severity.INFO,
            f"{small} cell(s) redacted as small counts, {secondary} more to protect them",
        )
    ]
    for name, st in protected.measure_status.items():
        dom = sum(1 for s in st.values() if s is CellStatus.DOMINATED)
        if dom:
            out.append(Finding("dominance", Severity.INFO, f"{dom} cell(s) of {name} dominated"))
    if statuses and all(s is not CellStatus.RELEASED for s in statuses):
        out.append(Finding("small_counts", Severity.BLOCKING, "every cell is redacted"))
    return out


def _table_measures(protected: ProtectedTable, session: PermitSession) -> dict[str, Any]:
    return {
        "cells": len(protected.count_status),
        "redacted": protected.n_redacted(),
        "status": {
            "|".join("Total" if v is None else str(v) for v in k): s.value
            for k, s in protected.count_status.items()
        },
        "snapshot": session.snapshot_label,
    }


# -- free SQL aggregates ----------------------------------------------------------------


def _id_columns(session: PermitSession) -> set[str]:
    out = {"person_id", "subject_id"}
    for scope in session.permit.tables:
        try:
            out |= set(person_level_ids(scope.table))
        except KeyError:
            continue
    return out


def custom(session: PermitSession, sql: str, *, dimensions: Sequence[str] = ()) -> SessionOutput:
    """A free SQL aggregate, disclosure-controlled as far as its columns allow."""
    import pyarrow as pa
    import pyarrow.types as pt

    policy = session.permit.policy
    src, checked = _stage(session, sql, "custom")
    table = session.internal(f"SELECT * FROM {src}").to_arrow_table()
    ids = _id_columns(session) & set(table.column_names)
    if ids:
        raise UsageError(
            f"the result has person-level ids ({', '.join(sorted(ids))}): that is an "
            "extract, not an aggregate; use 'bmb session extract'"
        )
    declared = set(dimensions)
    unknown = declared - set(table.column_names)
    if unknown:
        raise UsageError(f"--dimension {', '.join(sorted(unknown))} is not a result column")
    dims: list[str] = []
    count_cols: list[str] = []
    stat_cols: list[str] = []
    for field in table.schema:
        if field.name in declared or not (
            pt.is_integer(field.type) or pt.is_floating(field.type) or pt.is_decimal(field.type)
        ):
            dims.append(field.name)
        elif pt.is_integer(field.type):
            count_cols.append(field.name)
        else:
            stat_cols.append(field.name)
    rows = table.to_pylist()
    keys: list[Key] = [normalize_key([r[d] for d in dims]) for r in rows]
    findings: list[Finding] = []
    if len(set(keys)) != len(keys):
        findings.append(
            Finding(
                "structure",
                Severity.BLOCKING,
                "rows are not unique by their dimensions "
                f"({', '.join(dims) or 'none'}); declare dimensions with --dimension",
            )
        )
    released: dict[str, dict[Key, int | None]] = {}
    redacted_rows: set[int] = set()
    for c in count_cols:
        counts = {k: int(r[c] or 0) for k, r in zip(keys, rows, strict=True)}
        protected = protect_table(TableInput(tuple(dims), counts), policy)
        released[c] = dict(protected.released_counts)
        findings.extend(
            Finding(f.rule, f.severity, f"{c}: {f.message}") for f in _table_findings(protected)
        )
        for i, k in enumerate(keys):
            if released[c][k] is None:
                redacted_rows.add(i)
    if stat_cols:
        if not count_cols:
            findings.append(
                Finding(
                    "statistics",
                    Severity.BLOCKING,
                    f"statistics ({', '.join(stat_cols)}) without a count column cannot be "
                    "checked: add count(DISTINCT person_id) or use 'bmb session tabulate'",
                )
            )
        findings.append(
            Finding(
                "statistics",
                Severity.REVIEW,
                f"{', '.join(stat_cols)}: contributions unknown to the engine, dominance not "
                "checked; released only on rows whose counts are released",
            )
        )
    out: dict[str, list[Any]] = {name: [] for name in table.column_names}
    for i, (k, r) in enumerate(zip(keys, rows, strict=True)):
        for name in table.column_names:
            if name in count_cols:
                out[name].append(released[name][k])
            elif name in stat_cols:
                out[name].append(None if (i in redacted_rows or not count_cols) else r[name])
            else:
                out[name].append(r[name])
    schema = pa.schema(
        [pa.field(f.name, pa.int64() if f.name in count_cols else f.type) for f in table.schema]
    )
    safe = pa.table(out, schema=schema)
    report = OutputReport(
        OutputKind.CUSTOM,
        policy,
        safe.num_rows,
        tuple(safe.column_names),
        tuple(findings),
        {
            "dimensions": dims,
            "counts": count_cols,
            "statistics": stat_cols,
            "snapshot": session.snapshot_label,
        },
    )
    cells = {
        (c, *["Total" if v is None else str(v) for v in k]): int(r[c] or 0)
        for c in count_cols
        for k, r in zip(keys, rows, strict=True)
    }
    signature = "|".join(dims)
    return SessionOutput(
        OutputKind.CUSTOM, safe, report, checked, cells_signature=signature, cells=cells
    )


# -- models ------------------------------------------------------------------------------


def model_facts(
    session: PermitSession,
    design_sql: str,
    *,
    outcome: str | None,
    categorical: Sequence[str],
    n_parameters: int,
) -> tuple[ModelFacts, ModelCheck]:
    """Count what the model rules need from the data a model is fitted on, and check it."""
    src, _ = _stage(session, design_sql, "model")
    cols = _columns(session, src)
    if "person_id" not in cols:
        raise UsageError("the design query of a model needs a person_id column")
    for c in [*categorical, *([outcome] if outcome else [])]:
        if c not in cols:
            raise UsageError(f"column {c} is not in the design query's result")
    n = int(session.internal(f"SELECT count(DISTINCT person_id) FROM {src}").fetchall()[0][0])
    cells: dict[str, int] = {}
    for c in categorical:
        rows = session.internal(
            f"SELECT CAST({_ident(c)} AS VARCHAR), count(DISTINCT person_id) FROM {src} GROUP BY 1"
        ).fetchall()
        for value, count in rows:
            cells[f"{c}={value}"] = int(count)
        if outcome is not None:
            rows = session.internal(
                f"SELECT CAST({_ident(outcome)} AS VARCHAR), CAST({_ident(c)} AS VARCHAR), "
                f"count(DISTINCT person_id) FROM {src} GROUP BY 1, 2"
            ).fetchall()
            for out_value, value, count in rows:
                cells[f"{outcome}={out_value}|{c}={value}"] = int(count)
    facts = ModelFacts(n, n_parameters, cells)
    return facts, check_model(facts, session.permit.policy)
