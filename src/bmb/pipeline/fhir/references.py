"""References between resources, resolved to CDM ids.

A reference reaches its target in one of three ways, tried in order:

- **in the batch**: ``Patient/123`` (or a Bundle's ``urn:uuid:``, rewritten at staging)
  names a resource staged in the same batch;
- **conditionally**: ``Practitioner?identifier=system|value`` names the one resource of
  the batch with that identifier (:mod:`bmb.sources.fhir.references`); failing that,
  the identifier is hashed as the target's own identifier would be, and counts if the
  lake already knows the id it gives (a fiscal code finds the registry's person);
- **in an earlier batch**: the keyed hash of the logical id is looked up in
  ``bmb.fhir_key`` (Patients, Practitioners), or the id derived from it is looked up
  among the lake's rows (Encounters, Organizations).

Each resolver writes a small table keyed by the reference text, which the mappers join.
"""

from __future__ import annotations

import pyarrow as pa

from bmb.domain.codes import fhir as codes
from bmb.pipeline.batch import Batch, q
from bmb.pipeline.fhir.identity import hash_identifiers, lookup_keys
from bmb.pipeline.fhir.stage import TABLE
from bmb.pipeline.maps.common import row_id
from bmb.sources.fhir.references import parse_conditional
from bmb.sources.fhir.sql.expr import reference_key_sql

#: Views with a subject/patient reference, and with a performer-like reference.
PATIENT_VIEWS = (
    "encounter",
    "condition",
    "procedure",
    "observation",
    "allergy_intolerance",
    "medication_request",
    "medication_dispense",
    "medication_statement",
    "immunization",
)


def keyed(refs_sql: str, resource_type: str) -> str:
    """``ref, k``: each distinct reference text of ``refs_sql`` (column ``ref``) and its key.

    The key is the engine's own ``getReferenceKey(<type>)`` SQL, evaluated once per
    distinct reference rather than once per row of every view (references repeat:
    a Patient is named by all its resources). A Bundle's ``urn:uuid:`` reference takes
    the id of the entry with that fullUrl (``_urn``, made at staging), if of the type.
    """
    key = reference_key_sql("s", resource_type)
    return (
        f"SELECT d.ref, coalesce({key}, u.fhir_id) AS k FROM (SELECT ref, {{'reference': ref, "
        f"'type': NULL::VARCHAR}} AS s FROM (SELECT DISTINCT ref FROM ({refs_sql}) "
        "WHERE ref IS NOT NULL)) d LEFT JOIN _urn u ON lower(d.ref) = 'urn:uuid:' || u.uuid "
        f"AND u.rtype = {q(resource_type)}"
    )


def _refs(b: Batch, views: dict[str, str], column: str, names: tuple[str, ...], rtype: str) -> str:
    union = " UNION ALL ".join(f"SELECT DISTINCT {column} AS ref FROM {views[n]}" for n in names)
    b.con.execute(f"CREATE OR REPLACE TEMP TABLE _refs AS {keyed(union, rtype)}")
    return "_refs"


def _conditional(b: Batch, resource_type: str) -> list[tuple[str, str | None, str]]:
    """(reference, system or None, value) criteria of the batch's conditional refs."""
    pattern = q(f"%{resource_type}?%")
    rows = b.con.execute(
        f"SELECT DISTINCT ref FROM _refs WHERE k IS NULL AND ref LIKE {pattern}"
    ).fetchall()
    out: list[tuple[str, str | None, str]] = []
    for (ref,) in rows:
        parsed = parse_conditional(str(ref))
        if parsed is None or parsed.resource_type != resource_type:
            continue
        for c in parsed.criteria:
            out.append((str(ref), c.system, c.value))
    return out


def _criteria_table(b: Batch, criteria: list[tuple[str, str | None, str]]) -> None:
    b.con.register(
        "_crit_arrow",
        pa.table(
            {
                "ref": pa.array([c[0] for c in criteria], pa.string()),
                "system": pa.array([c[1] for c in criteria], pa.string()),
                "value": pa.array([c[2] for c in criteria], pa.string()),
            }
        ),
    )
    b.con.execute("CREATE OR REPLACE TEMP TABLE _crit AS SELECT * FROM _crit_arrow")
    b.con.unregister("_crit_arrow")


def _match_in_batch(ident_view: str, who: str) -> str:
    """Criteria matched against the identifiers of the batch's identified resources."""
    return (
        f"SELECT c.ref, min(w.target_id) AS target_id, count(DISTINCT w.target_id) AS n "
        f"FROM _crit c JOIN {ident_view} i ON i.value = c.value AND (c.system IS NULL "
        "OR i.system IS NOT DISTINCT FROM nullif(c.system, '')) "
        f"JOIN {who} w ON w.record = i.record AND w.target_id IS NOT NULL GROUP BY c.ref"
    )


def _hashed(b: Batch, domain: str) -> None:
    """``_crit_hash``: criteria with a system, hashed as the target's identifier."""
    pairs = b.con.execute(
        "SELECT DISTINCT system, value FROM _crit WHERE system IS NOT NULL AND system <> ''"
    ).fetchall()
    b.con.register("_crit_hash_arrow", hash_identifiers(b.key, pairs, domain))
    b.con.execute(
        "CREATE OR REPLACE TEMP TABLE _crit_hash AS SELECT c.ref, h.target_id FROM _crit c "
        "JOIN _crit_hash_arrow h ON h.system = c.system AND h.value = c.value "
        "WHERE h.target_id IS NOT NULL"
    )
    b.con.unregister("_crit_hash_arrow")


def resolve_patients(b: Batch, views: dict[str, str], known_keys: str) -> None:
    """``_ref_patient``: ref -> person_id, or the problem that leaves it unknown."""
    _refs(b, views, "patient", PATIENT_VIEWS, "Patient")
    criteria = _conditional(b, "Patient")
    _criteria_table(b, criteria)
    _hashed(b, "person")
    keys = [
        str(r[0])
        for r in b.con.execute(
            "SELECT DISTINCT r.k FROM _refs r WHERE r.k IS NOT NULL AND r.k NOT IN "
            "(SELECT fhir_id FROM _who_patient WHERE target_id IS NOT NULL AND fhir_id IS NOT NULL)"
        ).fetchall()
    ]
    lookup_keys(b, "Patient", keys, known_keys, "_prior_patient")
    known = (
        "(SELECT person_id FROM _known_persons UNION SELECT target_id FROM _who_patient "
        "WHERE target_id IS NOT NULL)"
    )
    b.con.execute(
        "CREATE OR REPLACE TEMP TABLE _ref_patient AS SELECT r.ref, "
        "CASE WHEN w.target_id IS NOT NULL THEN w.target_id "
        "WHEN p.targets = 1 THEN p.target_id WHEN m.n = 1 THEN m.target_id "
        "WHEN m.n IS NULL THEN h.target_id END AS person_id, "
        "CASE WHEN bad.fhir_id IS NOT NULL THEN r.ref || ' was quarantined' "
        "WHEN p.targets > 1 THEN r.ref || ' names ' || p.targets || ' persons in the lake' "
        "WHEN m.n > 1 THEN 'the conditional reference matches ' || m.n || ' Patients' "
        "WHEN r.k IS NULL AND r.ref NOT LIKE '%Patient?%' THEN 'not a reference to a Patient' "
        "ELSE 'the Patient is neither in this batch nor in the lake' END AS problem "
        "FROM _refs r "
        "LEFT JOIN _who_patient w ON w.fhir_id = r.k AND w.target_id IS NOT NULL "
        "LEFT JOIN _prior_patient p ON p.fhir_id = r.k "
        f"LEFT JOIN ({_match_in_batch('v_patient_identifier', '_who_patient')}) m "
        "ON m.ref = r.ref "
        f"LEFT JOIN (SELECT ref, min(target_id) AS target_id FROM _crit_hash WHERE target_id IN "
        f"{known} GROUP BY ref HAVING count(DISTINCT target_id) = 1) h ON h.ref = r.ref "
        f"LEFT JOIN (SELECT DISTINCT fhir_id FROM {TABLE} WHERE rtype = 'Patient' "
        "AND NOT _ok) bad ON bad.fhir_id = r.k"
    )


def resolve_providers(b: Batch, views: dict[str, str], known_keys: str) -> None:
    """``_ref_provider``: ref -> provider_id (NULL when unresolved: never an error)."""
    _refs(b, views, "provider", PATIENT_VIEWS, "Practitioner")
    _criteria_table(b, _conditional(b, "Practitioner"))
    _hashed(b, "provider")
    keys = [
        str(r[0])
        for r in b.con.execute(
            "SELECT DISTINCT k FROM _refs WHERE k IS NOT NULL AND k NOT IN "
            "(SELECT fhir_id FROM _who_practitioner WHERE fhir_id IS NOT NULL)"
        ).fetchall()
    ]
    lookup_keys(b, "Practitioner", keys, known_keys, "_prior_practitioner")
    known = (
        "(SELECT provider_id FROM _known_providers UNION SELECT target_id FROM "
        "_who_practitioner WHERE target_id IS NOT NULL)"
    )
    b.con.execute(
        "CREATE OR REPLACE TEMP TABLE _ref_provider AS SELECT r.ref, coalesce(w.target_id, "
        "CASE WHEN p.targets = 1 THEN p.target_id END, CASE WHEN m.n = 1 THEN m.target_id END, "
        "h.target_id) AS provider_id FROM _refs r "
        "LEFT JOIN _who_practitioner w ON w.fhir_id = r.k "
        "LEFT JOIN _prior_practitioner p ON p.fhir_id = r.k "
        f"LEFT JOIN ({_match_in_batch('v_practitioner_identifier', '_who_practitioner')}) m "
        "ON m.ref = r.ref "
        f"LEFT JOIN (SELECT ref, min(target_id) AS target_id FROM _crit_hash WHERE target_id IN "
        f"{known} GROUP BY ref HAVING count(DISTINCT target_id) = 1) h ON h.ref = r.ref"
    )


def care_site_id(key_sql: str) -> str:
    """The care_site_id of an Organization from its logical id (not personal: unkeyed)."""
    return row_id("'FHIR'", "'Organization'", key_sql)


def visit_id(key_sql: str) -> str:
    """The visit_occurrence_id of an Encounter from its logical id, as the flows' ids."""
    return row_id("'FHIR'", "'Encounter'", key_sql)


def resolve_organizations(b: Batch, views: dict[str, str]) -> None:
    """``_ref_org``: ref -> care_site_id of an Organization in the batch or the lake."""
    _refs(b, views, "organization", ("encounter",), "Organization")
    _criteria_table(b, _conditional(b, "Organization"))
    b.con.execute(
        "CREATE OR REPLACE TEMP TABLE _who_organization AS SELECT _record AS record, "
        f"fhir_id, {care_site_id('_key')} AS target_id FROM {TABLE} "
        "WHERE rtype = 'Organization' AND _ok AND NOT _skip"
    )
    b.con.execute(
        "CREATE OR REPLACE TEMP TABLE _ref_org AS SELECT r.ref, CASE "
        "WHEN w.target_id IS NOT NULL THEN w.target_id "
        f"WHEN r.k IS NOT NULL AND {care_site_id('r.k')} IN "
        f"(SELECT care_site_id FROM _known_care_sites) THEN {care_site_id('r.k')} "
        "WHEN m.n = 1 THEN m.target_id END AS care_site_id FROM _refs r "
        "LEFT JOIN _who_organization w ON w.fhir_id = r.k "
        f"LEFT JOIN ({_match_in_batch('v_organization_identifier', '_who_organization')}) m "
        "ON m.ref = r.ref"
    )


def resolve_encounters(b: Batch, views: dict[str, str]) -> None:
    """``_ref_visit``: encounter reference -> visit_occurrence_id, if the visit exists.

    Run after the Encounters were checked: a visit counts when its Encounter was mapped
    in this batch or an earlier one, so no row points at a visit that is not there.
    """
    union = " UNION ALL ".join(
        f"SELECT DISTINCT encounter AS ref FROM {views[n]}"
        for n in PATIENT_VIEWS
        if n != "encounter"
    )
    b.con.execute(
        f"CREATE OR REPLACE TEMP TABLE _ref_visit AS SELECT ref, {visit_id('k')} AS visit_id "
        f"FROM ({keyed(union, 'Encounter')}) WHERE {visit_id('k')} IN "
        "(SELECT visit_id FROM _fhir_visits)"
    )


#: Encounter classes the mapping knows, as SQL: class code -> visit concept.
def visit_concept(code_sql: str) -> str:
    whens = " ".join(f"WHEN {q(c)} THEN {v}" for c, v in codes.ENCOUNTER_CLASS_VISIT.items())
    return f"CASE {code_sql} {whens} ELSE 0 END"
