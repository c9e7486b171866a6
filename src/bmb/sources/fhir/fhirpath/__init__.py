"""FHIRPath for SQL-on-FHIR: parser, reference evaluator and functions.

``parse`` turns text into a frozen syntax tree; ``evaluate`` runs it on a resource.
Importing the package registers the function table with the evaluator.
"""

from __future__ import annotations

from bmb.sources.fhir.fhirpath import functions as _functions
from bmb.sources.fhir.fhirpath.evaluator import Evaluation, Frame, evaluate
from bmb.sources.fhir.fhirpath.parser import parse
from bmb.sources.fhir.fhirpath.values import Item, Node, output_value, wrap

__all__ = ["Evaluation", "Frame", "Item", "Node", "evaluate", "output_value", "parse", "wrap"]

_ = _functions
