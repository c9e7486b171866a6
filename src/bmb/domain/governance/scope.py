"""What a session may show of the CDM: person tables, reference tables, and their ids.

A session filters persons (opt-outs, the permit's population) and re-keys every id
that could link a row to a person across projects. That is only possible for tables
that carry ``person_id`` themselves (or ``subject_id``, the cohort table); tables
linked to persons only through another table (``note_nlp``, ``cost``,
``fact_relationship``, ``episode_event``) cannot be scoped by person, so no permit may
include them until they can. Reference tables (locations, care sites, providers, the
CDM source, cohort definitions) hold no person's data; vocabulary tables are in every
session because no analysis can read concept ids without them.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from bmb.domain.cdm import CDM_TABLES, VOCABULARY_TABLES

#: The column that says whose row it is, per person table.
PERSON_COLUMN: Mapping[str, str] = MappingProxyType(
    {
        **{
            name: "person_id"
            for name, t in CDM_TABLES.items()
            if t.schema == "CDM" and "person_id" in t.field_names
        },
        "cohort": "subject_id",
    }
)

#: Tables with no person's data, shown as they are when a permit includes them.
REFERENCE_TABLES: frozenset[str] = frozenset(
    {"location", "care_site", "provider", "cdm_source", "metadata", "cohort_definition"}
)

#: Always in a session: the standardized vocabularies.
ALWAYS_VISIBLE: frozenset[str] = frozenset(VOCABULARY_TABLES)

#: Person-linked tables a session cannot scope by person, with the reason.
UNSCOPABLE: Mapping[str, str] = MappingProxyType(
    {
        "note_nlp": "linked to persons only through note",
        "cost": "linked to persons only through the costed event",
        "fact_relationship": "links arbitrary facts, which a session cannot scope by person",
        "episode_event": "linked to persons only through episode",
    }
)

#: Id columns pointing at a person-level row, and the kind its pseudonym is keyed with
#: (the referenced table), so that a foreign key still joins its target in a session.
_REF_KIND = {
    "person_id": "person",
    "subject_id": "person",
    "preceding_visit_occurrence_id": "visit_occurrence",
    "preceding_visit_detail_id": "visit_detail",
    "parent_visit_detail_id": "visit_detail",
    "episode_parent_id": "episode",
    "measurement_event_id": "event",
    "observation_event_id": "event",
    "note_event_id": "event",
}

#: Free-text identifiers of things (device serials, specimen labels) that would link
#: rows across projects and cannot be re-keyed as integers: never in a session.
DROPPED_COLUMNS: frozenset[str] = frozenset(
    {"unique_device_id", "production_id", "specimen_source_id"}
)


def person_level_ids(table: str) -> dict[str, str]:
    """The id columns of a person table that a session re-keys, with each one's kind."""
    decl = CDM_TABLES[table]
    own = {f"{t}_id": t for t in PERSON_COLUMN if t != "cohort"}
    out: dict[str, str] = {}
    for f in decl.fields:
        if f.kind != "integer" or f.is_concept_id:
            continue
        if f.name in _REF_KIND:
            out[f.name] = _REF_KIND[f.name]
        elif f.name in own:
            out[f.name] = own[f.name]
    return out


def sessionable(table: str) -> bool:
    """Whether a permit may include ``table``."""
    return table in PERSON_COLUMN or table in REFERENCE_TABLES or table in ALWAYS_VISIBLE
