"""The OMOP CDM v5.4 tables (generated from the official spec) and BMB's own tables."""

from __future__ import annotations

from types import MappingProxyType

from bmb.domain.cdm.bmb_tables import BMB_TABLES
from bmb.domain.cdm.model import CdmField, CdmTable
from bmb.domain.cdm.spec import TABLES as _SPEC_TABLES

#: Every table of OMOP CDM v5.4, by name, in the spec's order.
CDM_TABLES: MappingProxyType[str, CdmTable] = MappingProxyType({t.name: t for t in _SPEC_TABLES})

#: The CDM tables holding clinical data (the ``CDM`` schema), as opposed to vocabularies.
CLINICAL_TABLES: tuple[str, ...] = tuple(t.name for t in _SPEC_TABLES if t.schema == "CDM")

#: The standardized vocabulary tables (the ``VOCAB`` schema).
VOCABULARY_TABLES: tuple[str, ...] = tuple(t.name for t in _SPEC_TABLES if t.schema == "VOCAB")

#: Concept ids at or above this are BMB's local concepts (codes with no OHDSI standard id).
LOCAL_CONCEPT_BASE = 2_000_000_000

__all__ = [
    "BMB_TABLES",
    "CDM_TABLES",
    "CLINICAL_TABLES",
    "LOCAL_CONCEPT_BASE",
    "VOCABULARY_TABLES",
    "CdmField",
    "CdmTable",
]
