"""Parse and validate flow records in DuckDB, from their declared layout.

A layout becomes one SQL query over a relation ``lines(line_number, text)``: each
field is cut out (by position, or by separator), trimmed, typed, and checked (required,
digits, dates, times, code lists, record length). Every failed check adds an entry
``{field, reason, detail}`` to the record's ``_errors`` list instead of stopping, so one
pass types millions of records on all cores and no record is dropped.

Reasons are a closed list (:data:`REASONS`) that quarantine reports group by.
"""

from __future__ import annotations

from bmb.domain.flows.layout import Field, FieldType, Framing, Layout

#: Every reason a record can be rejected for, with what it means.
REASONS: dict[str, str] = {
    "encoding": "the record is not valid UTF-8",
    "empty_record": "the line is empty",
    "truncated": "the record is shorter than its layout (or has too few fields)",
    "too_long": "the record is longer than its layout (or has too many fields)",
    "missing_value": "a required field is empty",
    "not_a_number": "a numeric field holds something else",
    "invalid_date": "a date field is not a calendar date in the layout's format",
    "impossible_date": "a date outside the plausible range (future, before 1880, before birth)",
    "invalid_time": "a time field is not a time of day",
    "unknown_code": "a code not in its code list or vocabulary",
    "invalid_fiscal_code": "the patient identifier is not a valid fiscal, STP, ENI or TEAM code",
    "missing_identifier": "the patient identifier is empty or anonymous",
    "duplicate": "an exact repeat of an earlier record of the same file",
    "duplicate_key": "a second record with the same key and different content",
    "orphan": "a detail record whose header record is missing",
    "unknown_person": "the record names a person the lake does not know and carries no "
    "demographics to describe them (ingest the registry first)",
    "inconsistent_dates": "dates in the wrong order (discharge before admission, ...)",
}


#: The empty error list, typed as the lists :func:`parse_sql` builds.
NO_ERRORS = "[]::STRUCT(field VARCHAR, reason VARCHAR, detail VARCHAR)[]"


def _q(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _raw_expr(layout: Layout, index: int, field: Field) -> str:
    if layout.framing is Framing.FIXED:
        return f"substr(text, {field.start}, {field.length})"
    return f"coalesce(_parts[{index + 1}], '')"


def _typed(field: Field, v: str) -> str:
    """SQL typing the trimmed text ``v`` (NULL when empty or invalid)."""
    t = field.type
    if t is FieldType.INT:
        return f"CASE WHEN regexp_full_match({v}, '[0-9]+') THEN TRY_CAST({v} AS BIGINT) END"
    if t is FieldType.DECIMAL:
        if field.scale:
            return (
                f"CASE WHEN regexp_full_match({v}, '-?[0-9]+') "
                f"THEN TRY_CAST({v} AS BIGINT) / {10**field.scale}.0 "
                f"ELSE TRY_CAST(replace({v}, ',', '.') AS DOUBLE) END"
            )
        return f"TRY_CAST(replace({v}, ',', '.') AS DOUBLE)"
    if t is FieldType.DATE:
        return f"TRY_STRPTIME({v}, {_q(field.fmt)})::DATE"
    if t is FieldType.TIME:
        return f"TRY_STRPTIME({v}, {_q(field.fmt)})::TIME"
    return v


def _checks(field: Field, v: str, typed: str) -> list[tuple[str, str]]:
    """(condition, reason) pairs; a condition true means the field fails."""
    out: list[tuple[str, str]] = []
    if field.required:
        out.append((f"{v} IS NULL", "missing_value"))
    t = field.type
    if t in (FieldType.INT, FieldType.DECIMAL):
        out.append((f"{v} IS NOT NULL AND {typed} IS NULL", "not_a_number"))
    elif t is FieldType.DATE:
        out.append((f"{v} IS NOT NULL AND {typed} IS NULL", "invalid_date"))
        out.append(
            (
                f"{typed} IS NOT NULL AND ({typed} < DATE '1880-01-01' "
                f"OR {typed} > current_date + INTERVAL 366 DAY)",
                "impossible_date",
            )
        )
    elif t is FieldType.TIME:
        out.append((f"{v} IS NOT NULL AND {typed} IS NULL", "invalid_time"))
    elif t is FieldType.CODE and field.codes:
        listing = ", ".join(_q(c) for c in sorted(field.codes))
        out.append((f"{v} IS NOT NULL AND {v} NOT IN ({listing})", "unknown_code"))
    return out


def parse_sql(
    layout: Layout,
    source: str = "lines",
    *,
    precut: bool = False,
    prechecked: bool = False,
    pretyped: frozenset[str] = frozenset(),
    carry: tuple[str, ...] = (),
) -> str:
    """The query typing and validating every record of ``source`` against ``layout``.

    ``source`` has ``line_number`` and ``text`` (and, when ``precut``, the trimmed field
    texts ``_v_<field>`` from :func:`bmb.sources.flows.cut.cut_fixed`). Output columns:
    the ``carry`` columns, ``line_number``, ``text``, one typed column per field (same
    name), and ``_errors``: a list of ``{field, reason, detail}``, empty when the record
    is good. Whole-record checks (empty, truncated, too long) come first in the list.

    ``prechecked``: ``source`` also has ``_suspect`` (from
    :func:`bmb.sources.flows.native.read_fixed`), false only for records that pass
    every check for certain; the checks then run on the suspect records alone.
    ``pretyped`` fields also have ``_t_<field>``, their typed value where not suspect:
    only suspect records are then typed in SQL.
    """
    n = len(layout.fields)
    if layout.framing is Framing.FIXED:
        pre = f"SELECT * FROM {source}"
        shape = [
            ("length(text) = 0", "empty_record", "''"),
            (
                f"length(text) > 0 AND length(rtrim(text)) < {layout.fields[-1].start}"
                f" AND length(text) < {layout.width}",
                "truncated",
                f"'length ' || length(text) || ' of {layout.width}'",
            ),
            (
                f"length(rtrim(text)) > {layout.width}",
                "too_long",
                f"'length ' || length(text) || ' of {layout.width}'",
            ),
        ]
    else:
        sep = _q(layout.separator)
        pre = f"SELECT *, string_split(text, {sep}) AS _parts FROM {source}"
        shape = [
            ("length(text) = 0", "empty_record", "''"),
            (
                f"length(text) > 0 AND len(_parts) < {n}",
                "truncated",
                f"len(_parts) || ' fields of {n}'",
            ),
            (f"len(_parts) > {n}", "too_long", f"len(_parts) || ' fields of {n}'"),
        ]
    raw_cols: list[str] = []
    typed_cols: list[str] = []
    errors: list[str] = []
    conditions: list[str] = []
    for cond, reason, detail in shape:
        conditions.append(cond)
        errors.append(
            f"CASE WHEN {cond} THEN {{'field': NULL::VARCHAR, 'reason': {_q(reason)}, "
            f"'detail': {detail}}} END"
        )
    for i, f in enumerate(layout.fields):
        if not (precut and layout.framing is Framing.FIXED):
            raw_cols.append(f"NULLIF(trim({_raw_expr(layout, i, f)}), '') AS _v_{f.name}")
        typed = _typed(f, f"_v_{f.name}")
        if prechecked and f.name in pretyped:
            typed = f"CASE WHEN _suspect THEN {typed} ELSE _t_{f.name} END"
        typed_cols.append(f"{typed} AS {f.name}")
        for cond, reason in _checks(f, f"_v_{f.name}", f.name):
            conditions.append(cond)
            errors.append(
                f"CASE WHEN {cond} THEN {{'field': {_q(f.name)}, 'reason': {_q(reason)}, "
                f"'detail': _v_{f.name}}} END"
            )
    # The list is built only for records that fail a check (about 1 in 100): DuckDB runs
    # a CASE branch on the selected rows alone, and building lists of structs for every
    # good record was a third of the parse.
    any_fails = " OR ".join(f"({c})" for c in conditions)
    if prechecked:
        any_fails = f"_suspect AND ({any_fails})"
    err_list = (
        f"CASE WHEN {any_fails} THEN list_filter(["
        + ",\n    ".join(errors)
        + f"], lambda x: x IS NOT NULL) ELSE {NO_ERRORS} END"
    )
    names = ", ".join(f.name for f in layout.fields)
    carried = "".join(f"{c}, " for c in carry)
    raw = f"SELECT *, {', '.join(raw_cols)} FROM _pre" if raw_cols else "SELECT * FROM _pre"
    return (
        f"WITH _pre AS ({pre}),\n"
        f"_raw AS ({raw}),\n"
        f"_typed AS (SELECT *, {', '.join(typed_cols)} FROM _raw)\n"
        f"SELECT {carried}line_number, text, {names},\n  {err_list} AS _errors\n"
        f"FROM _typed"
    )
