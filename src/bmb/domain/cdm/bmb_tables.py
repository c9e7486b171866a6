"""BMB's own tables beside the CDM: the ingestion ledger, quarantine, local concepts.

They are declared with the same model as the CDM tables so that the lake creates and
types them the same way.
"""

from __future__ import annotations

from types import MappingProxyType

from bmb.domain.cdm.model import CdmField as F
from bmb.domain.cdm.model import CdmTable as T

#: One row per committed batch: the commit point of a lake snapshot. ``table_snapshots``
#: holds, as JSON, the Iceberg snapshot id of every table as of this lake snapshot, so a
#: reader sees all tables at one consistent cut even though Iceberg commits per table.
LEDGER = T(
    "ingestion_ledger",
    "BMB",
    (
        F("lake_snapshot_id", "integer", True, pk=True),
        F("batch_id", "varchar(36)", True),
        F("kind", "varchar(20)", True),  # ingest, vocabulary, import, derived, recovery
        F("status", "varchar(20)", True),
        F("started_at", "datetime", True),
        F("finished_at", "datetime", True),
        F("bmb_version", "varchar(20)", True),
        F("files", "varchar(max)", False),  # JSON list: name, sha256, layout, records
        F("records_in", "integer", True),
        F("records_quarantined", "integer", True),
        F("records_control", "integer", True),
        F("rows_out", "varchar(max)", False),  # JSON: table -> rows
        F("quarantined_by_reason", "varchar(max)", False),  # JSON: reason -> records
        F("table_snapshots", "varchar(max)", True),  # JSON: table -> Iceberg snapshot id
        F("timings", "varchar(max)", False),  # JSON: step -> seconds
        F("note", "varchar(max)", False),
    ),
)

#: Source records rejected by validation. Lives in the restricted landing zone because
#: ``raw_record`` keeps the record exactly as received, identifiers included.
QUARANTINE = T(
    "quarantine",
    "LANDING",
    (
        F("batch_id", "varchar(36)", True),
        F("file_name", "varchar(255)", True),
        F("file_sha256", "varchar(64)", True),
        F("layout", "varchar(50)", True),
        F("line_number", "integer", True),
        F("field", "varchar(50)", False),
        F("reason", "varchar(50)", True),
        F("detail", "varchar(max)", False),
        F("raw_record", "varchar(max)", False),
    ),
)

#: Every source file ever landed, by content hash: what makes re-ingestion a no-op.
SOURCE_FILE = T(
    "source_file",
    "LANDING",
    (
        F("file_sha256", "varchar(64)", True, pk=True),
        F("file_name", "varchar(255)", True),
        F("layout", "varchar(50)", False),
        F("period", "varchar(6)", False),
        F("size_bytes", "integer", True),
        F("landed_path", "varchar(max)", True),
        F("received_at", "datetime", True),
        F("batch_id", "varchar(36)", True),
    ),
)

#: The pseudonym registry: each person_id with the full keyed hash it was cut from, so
#: that two different identifiers landing on the same 63-bit id are detected.
PERSON_KEY = T(
    "person_key",
    "BMB",
    (
        F("person_id", "integer", True, pk=True),
        F("id_kind", "varchar(10)", True),  # CF, STP, ENI, TEAM
        F("pseudonym", "varchar(64)", True),  # hex HMAC-SHA-256; not reversible
        F("first_batch_id", "varchar(36)", True),
    ),
)

#: Codes that have no OHDSI standard id, and the local concept ids BMB minted for them.
LOCAL_CONCEPT = T(
    "local_concept",
    "BMB",
    (
        F("concept_id", "integer", True, pk=True),
        F("vocabulary_id", "varchar(20)", True),
        F("concept_code", "varchar(50)", True),
        F("concept_name", "varchar(255)", True),
        F("domain_id", "varchar(20)", True),
        F("concept_class_id", "varchar(20)", True),
    ),
)

#: FHIR logical ids of Patients and Practitioners, keyed-hashed, and the CDM id each
#: became: how a resource in a later batch that says ``Patient/123`` finds its person
#: when the Patient came in an earlier one. The id itself never leaves the landing zone.
FHIR_KEY = T(
    "fhir_key",
    "BMB",
    (
        F("resource_type", "varchar(20)", True),  # Patient, Practitioner
        F("key_hash", "varchar(64)", True),  # hex HMAC-SHA-256 of "fhir:<Type>/<id>"
        F("target_id", "integer", True),  # person_id or provider_id
        F("first_batch_id", "varchar(36)", True),
    ),
)

BMB_TABLES: MappingProxyType[str, T] = MappingProxyType(
    {t.name: t for t in (LEDGER, QUARANTINE, SOURCE_FILE, PERSON_KEY, LOCAL_CONCEPT, FHIR_KEY)}
)
