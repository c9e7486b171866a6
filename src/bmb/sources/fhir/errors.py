"""Errors of the FHIR readers and the SQL-on-FHIR engine.

Each names what the user can fix: the expression and the position in it, the path of
the offending element inside a ViewDefinition (``select[1].column[0].path``), or the
file and line of a bad NDJSON record.
"""

from __future__ import annotations

from bmb.domain.errors import DataError, UsageError


class FhirPathSyntaxError(UsageError):
    """A FHIRPath expression does not parse."""


class FhirPathError(DataError):
    """A FHIRPath expression failed while evaluating (wrong types, too many values)."""


class ViewDefinitionError(UsageError):
    """A ViewDefinition breaks the SQL-on-FHIR rules; the message names the element."""


class FhirInputError(DataError):
    """FHIR input cannot be read: the message names the file and line."""
