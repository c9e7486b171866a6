"""FHIR R4 into the lake: Bundles and Bulk Data NDJSON to OMOP CDM rows.

The same road as the flows (DESIGN.md): land the bytes, stage every resource as a
record (:mod:`.stage`), flatten it with the ViewDefinitions BMB ships
(:mod:`bmb.sources.fhir.omop`), pseudonymize Patients and Practitioners
(:mod:`.identity`), resolve references (:mod:`.references`), check and map each
resource type (:mod:`.clinical`, :mod:`.observations`, :mod:`.drugs`,
:mod:`.persons`), mint the local concepts the batch needs (:mod:`.codes`), then the
flows' own end of a batch: quarantine, persons, periods, deaths, one commit.
ADR 0027 records the design.
"""

from bmb.pipeline.fhir.run import drop_batch_tables, group_fhir, map_fhir, setup_run

__all__ = ["drop_batch_tables", "group_fhir", "map_fhir", "setup_run"]
