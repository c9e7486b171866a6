"""SQL pieces shared by the flow mappers."""

from __future__ import annotations

from bmb.domain import concepts as std

#: ``hash_63(s)``, the id of a row from its natural key: the last 8 bytes of the MD5
#: digest of ``s`` read little-endian, top bit cleared (a non-negative BIGINT). This
#: is the value of DuckDB's ``md5_number_lower``, taken from ``md5_number``, which
#: DuckDB computes 2.6 times faster (3.3 million pharmacy keys: 0.37 s against 0.99 s).
HASH_63_MACRO = (
    "CREATE OR REPLACE MACRO hash_63(s) AS "
    "CAST((md5_number(s) >> 64) & 9223372036854775807::UHUGEINT AS BIGINT)"
)


def gender_concept(sex_sql: str) -> str:
    """Gender concept from a sex code written 1/2 or M/F."""
    return (
        f"CASE WHEN {sex_sql} IN ('1', 'M') THEN {std.MALE} "
        f"WHEN {sex_sql} IN ('2', 'F') THEN {std.FEMALE} ELSE 0 END"
    )


def code_concept(vocabulary: str, code_sql: str, alias: str) -> tuple[str, str]:
    """(join clause, alias) looking a code up in the batch's code map."""
    join = (
        f"LEFT JOIN _code_map {alias} ON {alias}.vocabulary_id = '{vocabulary}' "
        f"AND {alias}.code = {code_sql}"
    )
    return join, alias


def row_id(*parts: str) -> str:
    """A stable 63-bit id from a record's natural key (SQL).

    Ids of visits and events derive from the source's own keys (hospital and SDO
    number, ...), so re-ingesting after a recovery gives the same ids, and a record
    that refers to another (an ED visit naming its admission's SDO number) can compute
    the other's id without a lookup.
    """
    key = " || '|' || ".join(f"coalesce(CAST({p} AS VARCHAR), '')" for p in parts)
    return f"CAST(hash_63({key}) AS BIGINT)"


def ok(table: str) -> str:
    """FROM clause of the records of a layout that passed every check."""
    return f"FROM {table} r WHERE r._ok AND NOT r._skip"


def icd9_dx(code_sql: str) -> str:
    """An SDO ICD-9-CM diagnosis code (no dot) in dotted form, in SQL."""
    c = f"upper(replace(trim({code_sql}), '.', ''))"
    return (
        f"CASE WHEN {c} IS NULL OR {c} = '' THEN NULL "
        f"WHEN {c} LIKE 'E%' AND length({c}) > 4 THEN substr({c}, 1, 4) || '.' || substr({c}, 5) "
        f"WHEN {c} NOT LIKE 'E%' AND length({c}) > 3 THEN substr({c}, 1, "
        f"3) || '.' || substr({c}, 4) "
        f"ELSE {c} END"
    )


def icd9_proc(code_sql: str) -> str:
    """An ICD-9-CM procedure code without dot (3607) in dotted form (36.07), in SQL."""
    c = f"replace(trim({code_sql}), '.', '')"
    return (
        f"CASE WHEN {c} IS NULL OR {c} = '' THEN NULL "
        f"WHEN length({c}) > 2 THEN substr({c}, 1, 2) || '.' || substr({c}, 3) ELSE {c} END"
    )
