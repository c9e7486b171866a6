"""Checks on FHIR records: each failure appends an error to the record in ``p_fhir``.

As for the flows, a record collects ``{field, reason, detail}`` errors instead of
stopping the run, and goes to quarantine with all of them; only its first error is
the headline reason. A record deliberately left out (an ``entered-in-error``
resource, a vaccine not given) is a control record with the reason in ``_control``.
Dates are FHIR's (``YYYY``, ``YYYY-MM``, ``YYYY-MM-DD``, or a dateTime): a partial
date counts from the first day of its period, a dateTime keeps the local time as
written (the CDM has no time zones).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bmb.pipeline.batch import Batch, q
from bmb.pipeline.fhir.stage import TABLE

if TYPE_CHECKING:
    import duckdb

#: The plausible range of clinical dates, as for the flows.
DATE_FLOOR = "DATE '1880-01-01'"
DATE_CEILING = "current_date + INTERVAL 366 DAY"


def setup_macros(con: duckdb.DuckDBPyConnection) -> None:
    """SQL macros for FHIR dates, defined on the run's connection."""
    con.execute(
        "CREATE OR REPLACE MACRO fhir_date(s) AS CASE WHEN s IS NULL THEN NULL "
        "WHEN length(s) = 4 THEN TRY_CAST(s || '-01-01' AS DATE) "
        "WHEN length(s) = 7 THEN TRY_CAST(s || '-01' AS DATE) "
        "ELSE TRY_CAST(substr(s, 1, 10) AS DATE) END"
    )
    con.execute(
        "CREATE OR REPLACE MACRO fhir_ts(s) AS CASE WHEN length(s) >= 16 "
        "AND substr(s, 11, 1) = 'T' THEN TRY_CAST(replace(substr(s, 1, 19), 'T', ' ') "
        "AS TIMESTAMP) ELSE CAST(fhir_date(s) AS TIMESTAMP) END"
    )


def flag(b: Batch, select_sql: str, field: str | None, reason: str) -> None:
    """Append error ``reason`` to the records ``select_sql`` gives (columns record, detail).

    Only records without an error yet are flagged, so each gets its first problem as
    its reason and a quarantined record is never counted twice.
    """
    fld = "NULL::VARCHAR" if field is None else q(field)
    with b.step("validate"):
        b.con.execute(
            f"UPDATE {TABLE} SET _ok = false, _check = {{'field': {fld}, "
            f"'reason': {q(reason)}, 'detail': CAST(e.detail AS VARCHAR)}} FROM "
            f"(SELECT record, min(detail) AS detail FROM ({select_sql}) GROUP BY record) e "
            f"WHERE {TABLE}._record = e.record AND {TABLE}._ok"
        )


def control(b: Batch, view: str, condition: str, reason: str) -> None:
    """Mark the records of ``view`` matching ``condition`` as control records."""
    with b.step("validate"):
        b.con.execute(
            f"UPDATE {TABLE} SET _skip = true, _control = {q(reason)} "
            f"WHERE _record IN (SELECT record FROM {view} WHERE {condition}) "
            "AND _ok AND NOT _skip"
        )


def check_subject(b: Batch, view: str, field: str) -> None:
    """A clinical record needs a subject, and one the lake can name as a person."""
    flag(
        b,
        f"SELECT record, NULL AS detail FROM {view} WHERE patient IS NULL",
        field,
        "missing_value",
    )
    flag(
        b,
        f"SELECT v.record, r.problem AS detail FROM {view} v JOIN _ref_patient r "
        "ON r.ref = v.patient WHERE r.person_id IS NULL",
        field,
        "unknown_person",
    )


def check_date(b: Batch, view: str, expr: str, field: str, *, required: bool = True) -> None:
    """``expr`` (FHIR date text) must be present (if required), a date, and plausible."""
    if required:
        flag(
            b,
            f"SELECT record, NULL AS detail FROM {view} WHERE ({expr}) IS NULL",
            field,
            "missing_value",
        )
    flag(
        b,
        f"SELECT record, {expr} AS detail FROM {view} WHERE ({expr}) IS NOT NULL "
        f"AND fhir_date({expr}) IS NULL",
        field,
        "invalid_date",
    )
    flag(
        b,
        f"SELECT record, {expr} AS detail FROM {view} WHERE fhir_date({expr}) < {DATE_FLOOR} "
        f"OR fhir_date({expr}) > {DATE_CEILING}",
        field,
        "impossible_date",
    )


def check_code(b: Batch, view: str, chosen: str, field: str) -> None:
    """A record needs a code (a coding, or at least text) to become a CDM row."""
    flag(
        b,
        f"SELECT v.record, NULL AS detail FROM {view} v LEFT JOIN {chosen} c "
        "ON c.record = v.record WHERE c.source_value IS NULL",
        field,
        "missing_value",
    )


def mapped(view: str, alias: str = "v") -> str:
    """FROM clause: one row per record of ``view`` that passed every check.

    Views repeat a resource's columns on each of its codings; the first row stands for
    the record. ``r`` is the staged record (``r._key`` its stable key).
    """
    return (
        f"FROM (SELECT DISTINCT ON (record) * FROM {view} ORDER BY record) {alias} "
        f"JOIN {TABLE} r ON r._record = {alias}.record AND r._ok AND NOT r._skip"
    )
