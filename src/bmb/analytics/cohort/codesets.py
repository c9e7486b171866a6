"""Concept set SQL: expand each concept set into its concept ids, like Circe.

Included concepts are taken as listed (from ``concept``); descendants come from
``concept_ancestor`` and must be valid (``invalid_reason IS NULL``); "mapped" adds the
non-standard concepts that map to them (``Maps to``); excluded items are expanded the
same way and subtracted.
"""

from __future__ import annotations

from bmb.analytics.cohort import sqltext as q
from bmb.domain.cohort import ConceptSet, ConceptSetItem

EMPTY = "SELECT CAST(NULL AS BIGINT) AS codeset_id, CAST(NULL AS BIGINT) AS concept_id WHERE 1 = 0"


def codesets_sql(concept_sets: tuple[ConceptSet, ...]) -> str:
    """One relation ``(codeset_id, concept_id)`` for every concept set, no duplicates."""
    if not concept_sets:
        return EMPTY
    parts = [
        f"SELECT CAST({int(cs.id)} AS BIGINT) AS codeset_id, X.concept_id "
        f"FROM ({_expression(cs)}) X"
        for cs in concept_sets
    ]
    return " UNION ALL ".join(parts)


def _expression(cs: ConceptSet) -> str:
    include = [i for i in cs.items if not i.is_excluded]
    exclude = [i for i in cs.items if i.is_excluded]
    sql = f"SELECT DISTINCT I.concept_id FROM ({_concepts(include)}) I"
    if exclude:
        sql += (
            f" LEFT JOIN ({_concepts(exclude)}) E ON I.concept_id = E.concept_id "
            "WHERE E.concept_id IS NULL"
        )
    return sql


def _concepts(items: list[ConceptSetItem]) -> str:
    if not items:
        return "SELECT concept_id FROM concept WHERE 1 = 0"
    direct = [i.concept_id for i in items]
    below = [i.concept_id for i in items if i.include_descendants]
    sql = _direct_and_descendants(direct, below)
    mapped = [i.concept_id for i in items if i.include_mapped]
    mapped_below = [i.concept_id for i in items if i.include_mapped and i.include_descendants]
    if mapped:
        sql += (
            " UNION SELECT DISTINCT cr.concept_id_1 AS concept_id FROM ("
            f"{_direct_and_descendants(mapped, mapped_below)}) M "
            "JOIN concept_relationship cr ON M.concept_id = cr.concept_id_2 "
            "AND cr.relationship_id = 'Maps to' AND cr.invalid_reason IS NULL"
        )
    return sql


def _direct_and_descendants(direct: list[int], below: list[int]) -> str:
    sql = f"SELECT concept_id FROM concept WHERE {q.in_list('concept_id', direct)}"
    if below:
        sql += (
            " UNION SELECT c.concept_id FROM concept c JOIN concept_ancestor ca "
            "ON c.concept_id = ca.descendant_concept_id WHERE c.invalid_reason IS NULL "
            f"AND {q.in_list('ca.ancestor_concept_id', below)}"
        )
    return sql
