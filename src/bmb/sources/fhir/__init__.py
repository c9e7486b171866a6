"""FHIR R4 input and the SQL-on-FHIR v2 view engine.

A ViewDefinition (:func:`load_view`, :func:`parse_view`) turns FHIR resources into
typed rows. Two paths evaluate it: the reference path (:mod:`.reference`, FHIRPath
walked in Python, the spec's processing model) and the compiled path (DuckDB SQL over
NDJSON, for millions of resources). Both give the same rows; the runner picks the
compiled path when the compiler accepts the view and says which path ran.
"""

from __future__ import annotations

from bmb.sources.fhir.reference import ReferenceRunner, evaluate_view
from bmb.sources.fhir.viewdef import Column, Select, ViewDefinition, load_view, parse_view

__all__ = [
    "Column",
    "ReferenceRunner",
    "Select",
    "ViewDefinition",
    "evaluate_view",
    "load_view",
    "parse_view",
]
