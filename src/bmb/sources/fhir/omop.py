"""The FHIR-to-OMOP mapping views BMB ships (``views/omop/*.json``).

The mapping from FHIR to the CDM is written as SQL-on-FHIR v2 ViewDefinitions, one
or two per resource type, so that a steward can read (and test with ``bmb fhir
view``) exactly what BMB takes from each resource. The views flatten; the pipeline's
SQL (``bmb.pipeline.fhir``) then pseudonymizes, resolves references, picks codes and
writes CDM rows. Views whose name ends in ``_identifier`` output identifier values:
the pipeline feeds them only to the hashing step, inside the landing zone.
"""

from __future__ import annotations

import json
from decimal import Decimal
from functools import cache
from importlib import resources

from bmb.sources.fhir.viewdef import ViewDefinition, parse_view

#: Every shipped view by name, and the resource type each reads.
OMOP_VIEWS: dict[str, str] = {
    "patient": "Patient",
    "patient_identifier": "Patient",
    "practitioner": "Practitioner",
    "practitioner_identifier": "Practitioner",
    "organization": "Organization",
    "organization_identifier": "Organization",
    "encounter": "Encounter",
    "condition": "Condition",
    "procedure": "Procedure",
    "observation": "Observation",
    "observation_component": "Observation",
    "allergy_intolerance": "AllergyIntolerance",
    "medication_request": "MedicationRequest",
    "medication_dispense": "MedicationDispense",
    "medication_statement": "MedicationStatement",
    "immunization": "Immunization",
    "medication": "Medication",
}

#: Resource types the lake maps (everything else is counted and reported unsupported).
MAPPED_TYPES: frozenset[str] = frozenset(OMOP_VIEWS.values())


@cache
def omop_view(name: str) -> ViewDefinition:
    """The shipped view ``name`` (see :data:`OMOP_VIEWS`), parsed and validated."""
    if name not in OMOP_VIEWS:
        raise KeyError(f"no shipped OMOP view {name!r}")
    text = resources.files("bmb.sources.fhir").joinpath(f"views/omop/{name}.json").read_text()
    return parse_view(json.loads(text, parse_float=Decimal))
