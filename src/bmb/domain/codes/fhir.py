"""What FHIR's code systems and identifier systems mean to the lake (pure data).

A FHIR coding names its code system by URI; the lake's vocabulary names it by an
OHDSI ``vocabulary_id``. The table below is the one place where the two meet, so a
steward can see at a glance which systems BMB maps and how. Codes of an unlisted
system keep their code as ``*_source_value`` and concept 0.

Identifier systems decide who a Patient is: an Italian identifier (fiscal code, STP,
ENI, TEAM) gives the same ``person_id`` as the flows; anything else is hashed with its
system, national identifiers (social security and the like) before hospital record
numbers, because they are the ones another source of the same person also carries.
"""

from __future__ import annotations

from typing import Final

from bmb.domain import concepts as std
from bmb.domain import vocab

#: Code system URI -> OHDSI vocabulary_id. ICD-9-CM procedures share the diagnoses'
#: URI; a Procedure's ICD-9-CM code is read as ``ICD9Proc`` (see :func:`vocabulary_of`).
SYSTEM_VOCABULARY: Final = {
    "http://snomed.info/sct": "SNOMED",
    vocab.LOINC: "LOINC",
    "http://www.nlm.nih.gov/research/umls/rxnorm": "RxNorm",
    "http://hl7.org/fhir/sid/cvx": "CVX",
    "http://hl7.org/fhir/sid/icd-10-cm": "ICD10CM",
    vocab.ICD10: "ICD10",
    vocab.ICD9CM: "ICD9CM",
    "http://hl7.org/fhir/sid/icd-9-cm/procedure": "ICD9Proc",
    vocab.ATC: "ATC",
    vocab.AIC: "AIC",
    "urn:oid:2.16.840.1.113883.2.9.6.1.5": "AIC",  # HL7 Italia OID of AIC codes
    "http://hl7.org/fhir/sid/ndc": "NDC",
    vocab.UCUM: "UCUM",
    vocab.OUTPATIENT_CATALOGUE: "IT_CATALOGUE",
    vocab.EXEMPTION: "IT_EXEMPTION",
}

#: When a CodeableConcept carries several codings, the first vocabulary in this order
#: that the lake can map wins: standard OHDSI vocabularies first, then the source
#: vocabularies that map to them (the more recent ICD edition first), then Italy's own.
VOCABULARY_PREFERENCE: Final = (
    "SNOMED",
    "LOINC",
    "RxNorm",
    "CVX",
    "ICD10CM",
    "ICD10",
    "ICD9CM",
    "ICD9Proc",
    "AIC",
    "ATC",
    "NDC",
    "IT_CATALOGUE",
    "IT_EXEMPTION",
)

#: Vocabularies whose unknown codes the lake mints as local concepts (ADR 0005), so
#: that ``bmb vocab load`` can map them to OHDSI concepts later.
MINTABLE: Final = frozenset(VOCABULARY_PREFERENCE) - {"IT_CATALOGUE", "IT_EXEMPTION"}


def vocabulary_of(system: str | None, resource_type: str) -> str | None:
    """The vocabulary of a coding's system, reading ICD-9-CM in a Procedure as ICD9Proc."""
    if system is None:
        return None
    voc = SYSTEM_VOCABULARY.get(system)
    if voc == "ICD9CM" and resource_type == "Procedure":
        return "ICD9Proc"
    return voc


#: Italian identifier systems: their values are normalized and hashed exactly as the
#: flows' patient codes (kind CF, PCF, STP, ENI or TEAM from the value itself).
CF_SYSTEMS: Final = frozenset(
    {
        "http://hl7.it/sid/codiceFiscale",
        "urn:oid:2.16.840.1.113883.2.9.4.3.2",  # HL7 Italia OID of the fiscal code
    }
)
ITALIAN_IDENTIFIER_SYSTEMS: Final = CF_SYSTEMS | {
    "http://hl7.it/sid/stp",
    "http://hl7.it/sid/eni",
    "http://hl7.it/sid/team",
}

#: identifier.type codes (HL7 v2 table 0203) of national person identifiers: preferred
#: over record numbers because other sources of the same person carry them too.
NATIONAL_ID_TYPES: Final = frozenset({"SS", "SB", "NI", "NH", "NNITA", "TAX", "PPN"})
NATIONAL_ID_SYSTEMS: Final = frozenset({"http://hl7.org/fhir/sid/us-ssn"})
MEDICAL_RECORD_TYPE: Final = "MR"

#: Encounter.class (v3 ActCode) -> visit concept, after the HL7 FHIR-to-OMOP IG's
#: ConceptMap EncounterClass (IMP, AMB, OBSENC, EMER, VR, HH) and its neighbours.
ENCOUNTER_CLASS_VISIT: Final = {
    "IMP": std.INPATIENT_VISIT,
    "ACUTE": std.INPATIENT_VISIT,
    "NONAC": std.INPATIENT_VISIT,
    "SS": std.INPATIENT_VISIT,  # short stay
    "AMB": std.OUTPATIENT_VISIT,
    "PRENC": std.OUTPATIENT_VISIT,
    "FLD": std.OUTPATIENT_VISIT,
    "EMER": std.ER_VISIT,
    "OBSENC": std.ER_AND_INPATIENT_VISIT,
    "VR": std.TELEHEALTH,
    "HH": std.HOME_VISIT,
}

#: Quantity.comparator -> OMOP operator concept (Meas Value Operator).
COMPARATOR_OPERATOR: Final = {
    "<": std.OPERATOR_LT,
    "<=": std.OPERATOR_LE,
    ">=": std.OPERATOR_GE,
    ">": std.OPERATOR_GT,
}

#: Observation categories that make a row a measurement even without a numeric value.
MEASUREMENT_CATEGORIES: Final = frozenset({"laboratory", "vital-signs"})
