"""OHDSI standard concept ids BMB's mappings use directly.

These are well-known ids of the OHDSI standardized vocabularies (Gender, Visit, Type
Concept, Condition Status, Place of Service, UCUM). They are collected here so a
steward can check them against an Athena download in one place; ``bmb vocab load``
verifies every id below exists there with the expected name.
"""

from __future__ import annotations

from typing import Final

# Gender
MALE: Final = 8507
FEMALE: Final = 8532

# Visits and places of service
INPATIENT_VISIT: Final = 9201
OUTPATIENT_VISIT: Final = 9202
ER_VISIT: Final = 9203
INPATIENT_HOSPITAL: Final = 8717
HOME: Final = 8536
NURSING_FACILITY: Final = 8676
REHABILITATION_FACILITY: Final = 8920
HOSPICE: Final = 8546
# 262, 581476 and 722455 as HL7's FHIR-to-OMOP IG maps Encounter.class OBSENC, HH, VR
# (ConceptMap EncounterClass, v1.0.0 informative).
ER_AND_INPATIENT_VISIT: Final = 262
HOME_VISIT: Final = 581476
TELEHEALTH: Final = 722455

# Type concepts (provenance of a record)
TYPE_CLAIM: Final = 32810  # administrative flows (SDO, EMUR, Flusso C and D)
TYPE_EHR: Final = 32817  # the electronic health record (FHIR)
TYPE_DEATH_CERTIFICATE: Final = 32815
TYPE_LAB: Final = 32856
TYPE_PHARMACY_CLAIM: Final = 32869
TYPE_REGISTRY: Final = 32879
TYPE_EHR_ADMINISTRATION: Final = 32818  # FHIR Immunization
TYPE_EHR_DISPENSING: Final = 32825  # FHIR MedicationDispense
TYPE_EHR_PRESCRIPTION: Final = 32838  # FHIR MedicationRequest

# Measurement value operators (FHIR Quantity.comparator)
OPERATOR_LT: Final = 4171756
OPERATOR_LE: Final = 4171754
OPERATOR_GE: Final = 4171755
OPERATOR_GT: Final = 4172704

# Condition status
PRIMARY_DIAGNOSIS: Final = 32902
SECONDARY_DIAGNOSIS: Final = 32908

# Provider specialty
GENERAL_PRACTICE: Final = 38004446
PEDIATRICS: Final = 38004477

#: Names of the ids above, as Athena spells them, for verification.
NAMES: Final = {
    MALE: "MALE",
    FEMALE: "FEMALE",
    INPATIENT_VISIT: "Inpatient Visit",
    OUTPATIENT_VISIT: "Outpatient Visit",
    ER_VISIT: "Emergency Room Visit",
    INPATIENT_HOSPITAL: "Inpatient Hospital",
    HOME: "Home",
    NURSING_FACILITY: "Nursing Facility",
    REHABILITATION_FACILITY: "Comprehensive Inpatient Rehabilitation Facility",
    HOSPICE: "Hospice",
    ER_AND_INPATIENT_VISIT: "Emergency Room and Inpatient Visit",
    HOME_VISIT: "Home Visit",
    TELEHEALTH: "Telehealth",
    TYPE_CLAIM: "Claim",
    TYPE_EHR: "EHR",
    TYPE_DEATH_CERTIFICATE: "Death Certificate",
    TYPE_LAB: "Lab",
    TYPE_PHARMACY_CLAIM: "Pharmacy claim",
    TYPE_REGISTRY: "Registry",
    TYPE_EHR_ADMINISTRATION: "EHR administration record",
    TYPE_EHR_DISPENSING: "EHR dispensing record",
    TYPE_EHR_PRESCRIPTION: "EHR prescription",
    OPERATOR_LT: "<",
    OPERATOR_LE: "<=",
    OPERATOR_GE: ">=",
    OPERATOR_GT: ">",
    PRIMARY_DIAGNOSIS: "Primary diagnosis",
    SECONDARY_DIAGNOSIS: "Secondary diagnosis",
    GENERAL_PRACTICE: "General Practice",
    PEDIATRICS: "Pediatrics",
}

#: Domain, vocabulary and class of the ids above, to seed the concept table.
SEED: Final = {
    MALE: ("Gender", "Gender", "Gender"),
    FEMALE: ("Gender", "Gender", "Gender"),
    INPATIENT_VISIT: ("Visit", "Visit", "Visit"),
    OUTPATIENT_VISIT: ("Visit", "Visit", "Visit"),
    ER_VISIT: ("Visit", "Visit", "Visit"),
    INPATIENT_HOSPITAL: ("Visit", "CMS Place of Service", "Visit"),
    HOME: ("Visit", "CMS Place of Service", "Visit"),
    NURSING_FACILITY: ("Visit", "CMS Place of Service", "Visit"),
    REHABILITATION_FACILITY: ("Visit", "CMS Place of Service", "Visit"),
    HOSPICE: ("Visit", "CMS Place of Service", "Visit"),
    ER_AND_INPATIENT_VISIT: ("Visit", "Visit", "Visit"),
    HOME_VISIT: ("Visit", "Visit", "Visit"),
    TELEHEALTH: ("Visit", "Visit", "Visit"),
    TYPE_CLAIM: ("Type Concept", "Type Concept", "Type Concept"),
    TYPE_EHR: ("Type Concept", "Type Concept", "Type Concept"),
    TYPE_DEATH_CERTIFICATE: ("Type Concept", "Type Concept", "Type Concept"),
    TYPE_LAB: ("Type Concept", "Type Concept", "Type Concept"),
    TYPE_PHARMACY_CLAIM: ("Type Concept", "Type Concept", "Type Concept"),
    TYPE_REGISTRY: ("Type Concept", "Type Concept", "Type Concept"),
    TYPE_EHR_ADMINISTRATION: ("Type Concept", "Type Concept", "Type Concept"),
    TYPE_EHR_DISPENSING: ("Type Concept", "Type Concept", "Type Concept"),
    TYPE_EHR_PRESCRIPTION: ("Type Concept", "Type Concept", "Type Concept"),
    OPERATOR_LT: ("Meas Value Operator", "Meas Value Operator", "Meas Value Operator"),
    OPERATOR_LE: ("Meas Value Operator", "Meas Value Operator", "Meas Value Operator"),
    OPERATOR_GE: ("Meas Value Operator", "Meas Value Operator", "Meas Value Operator"),
    OPERATOR_GT: ("Meas Value Operator", "Meas Value Operator", "Meas Value Operator"),
    PRIMARY_DIAGNOSIS: ("Condition Status", "Condition Status", "Condition Status"),
    SECONDARY_DIAGNOSIS: ("Condition Status", "Condition Status", "Condition Status"),
    GENERAL_PRACTICE: ("Provider", "Medicare Specialty", "Physician Specialty"),
    PEDIATRICS: ("Provider", "Medicare Specialty", "Physician Specialty"),
}
