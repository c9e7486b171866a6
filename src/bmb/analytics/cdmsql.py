"""SQL over the CDM shared by the planning analytics: code lists to concepts, events.

Italian sources arrive with their own codes (ICD-9-CM diagnoses, ATC classes through
AIC products, exemption codes, LOINC), and the lake keeps each as a source concept with
its hierarchy in ``concept_ancestor``. Code lists are written the way clinicians write
them (prefixes: ``250``, ``425.4``, ``C09``); these helpers turn a table of prefixes into
the concept ids the CDM rows carry, so the big tables are joined on integers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from weakref import WeakKeyDictionary

from bmb.domain import concepts as std
from bmb.engines.base import Engine
from bmb.engines.capabilities import materialize

#: ``visit_occurrence.visit_concept_id`` by setting.
INPATIENT = std.INPATIENT_VISIT
EMERGENCY = std.ER_VISIT
OUTPATIENT = std.OUTPATIENT_VISIT
PRINCIPAL = std.PRIMARY_DIAGNOSIS

#: The diagnosis vocabularies a code-list column names.
DIAGNOSIS_VOCABULARIES = {"icd9cm": ("ICD9CM",), "icd10": ("ICD10", "ICD10CM")}


def nodot(sql: str) -> str:
    """A code without dots, upper case (``'425.41'`` -> ``'42541'``)."""
    return f"upper(replace({sql}, '.', ''))"


def diagnosis_concepts_sql(prefixes: str) -> str:
    """``(key, concept_id)`` for every ICD concept matching a prefix row of ``prefixes``.

    ``prefixes`` is a relation with columns ``key``, ``system`` ('icd9cm' or 'icd10')
    and ``prefix`` (dots allowed). ICD-9-CM categories have a fixed width before the
    dot, so comparing codes without dots is a faithful prefix match.
    """
    systems = " OR ".join(
        f"(x.system = '{system}' AND c.vocabulary_id IN ({', '.join(repr(v) for v in vocs)}))"
        for system, vocs in DIAGNOSIS_VOCABULARIES.items()
    )
    # One equi-join per prefix length: a hash join instead of comparing every code
    # with every prefix.
    parts = [
        "SELECT x.key, c.concept_id FROM concept c "
        f"JOIN (SELECT key, system, {nodot('prefix')} AS p FROM ({prefixes}) q "
        f"WHERE length({nodot('prefix')}) = {n}) x "
        f"ON left({nodot('c.concept_code')}, {n}) = x.p AND ({systems})"
        for n in range(1, 8)
    ]
    return "SELECT DISTINCT key, concept_id FROM (" + " UNION ALL ".join(parts) + ")"


def atc_products_sql(prefixes: str) -> str:
    """``(key, concept_id)``: every drug concept below an ATC class of ``prefixes``.

    ``prefixes`` has columns ``key`` and ``prefix`` (an ATC code at any level). Classes
    are found by code prefix, then every descendant through ``concept_ancestor`` (the
    AIC products the pharmacy flow dispenses descend from their ATC class).
    """
    return (
        "SELECT DISTINCT x.key, ca.descendant_concept_id AS concept_id FROM concept c "
        f"JOIN ({prefixes}) x ON c.vocabulary_id = 'ATC' "
        "AND starts_with(upper(c.concept_code), upper(x.prefix)) "
        "JOIN concept_ancestor ca ON ca.ancestor_concept_id = c.concept_id"
    )


def loinc_concepts_sql(codes: str) -> str:
    """``(key, concept_id)`` of the LOINC concepts named in ``codes`` (key, code)."""
    return (
        "SELECT DISTINCT x.key, c.concept_id FROM concept c "
        f"JOIN ({codes}) x ON c.vocabulary_id = 'LOINC' AND c.concept_code = x.code"
    )


def values_sql(columns: tuple[str, ...], rows: list[tuple[object, ...]]) -> str:
    """An inline relation ``SELECT * FROM (VALUES ...) t(columns)``; empty gives no rows."""
    if not rows:
        nulls = ", ".join(f"NULL AS {c}" for c in columns)
        return f"SELECT {nulls} WHERE false"
    body = ", ".join("(" + ", ".join(_literal(v) for v in row) + ")" for row in rows)
    return f"SELECT * FROM (VALUES {body}) t({', '.join(columns)})"


def _literal(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    text = str(value).replace("'", "''")
    return f"'{text}'"


def unplanned_admission_sql() -> str:
    """Inpatient stays that were unplanned: SDO admission type 2 (urgent) or 3 (TSO).

    The SDO's admission type (tipo ricovero, DM 261/2016) reaches the CDM inside
    ``visit_source_value`` ('SDO regime 1 type 2'); day-hospital stays (regime 2) are
    never unplanned. Columns: visit_occurrence_id, person_id, start/end dates, care_site_id.
    """
    return (
        "SELECT visit_occurrence_id, person_id, visit_start_date, visit_end_date, "
        "visit_start_datetime, care_site_id FROM visit_occurrence "
        f"WHERE visit_concept_id = {INPATIENT} "
        "AND regexp_extract(visit_source_value, 'type (\\d)', 1) IN ('2', '3') "
        "AND coalesce(regexp_extract(visit_source_value, 'regime (\\d)', 1), '1') <> '2'"
    )


_MADE: WeakKeyDictionary[Engine, set[str]] = WeakKeyDictionary()


def session_table(engine: Engine, sql: str, *, prefix: str = "bmb_map") -> str:
    """Materialize ``sql`` once per engine session and return its table name.

    Code-list-to-concept maps depend only on the vocabulary of the engine's pinned
    snapshot, so each is computed once and reused by every later step (the registry,
    comorbidity, features, scoring one person after another).
    """
    name = f"{prefix}_{hashlib.sha1(sql.encode()).hexdigest()[:12]}"
    made = _MADE.setdefault(engine, set())
    if name not in made:
        materialize(engine, name, sql)
        made.add(name)
    return name


def once(engine: Engine, key: str, make: Callable[[], None]) -> None:
    """Run ``make`` once per engine session (loading reference tables)."""
    made = _MADE.setdefault(engine, set())
    if key not in made:
        make()
        made.add(key)
