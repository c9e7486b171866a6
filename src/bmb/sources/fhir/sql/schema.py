"""The part of a resource a compiled view reads, as a DuckDB nested type.

While compiling, every element a view navigates is recorded here with its FHIR type
and cardinality from the model. The result is the narrowest STRUCT that holds what
the view needs: DuckDB's JSON reader parses each line once straight into native
nested vectors of that shape, and the view's expressions become struct-field and
list operations instead of repeated JSON parsing (ADR 0011). Elements reached but
never looked into (``name.exists()``) stay JSON, the cheapest way to keep them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

_PRIMITIVE_SQL = {
    "boolean": "BOOLEAN",
    "integer": "BIGINT",
    "positiveInt": "BIGINT",
    "unsignedInt": "BIGINT",
    "integer64": "BIGINT",
    "decimal": "DOUBLE",
}


def primitive_sql(fhir_type: str) -> str | None:
    """The DuckDB type a FHIR primitive is read as, None for complex types."""
    from bmb.sources.fhir.sql.expr import scalar_kind

    if fhir_type in _PRIMITIVE_SQL:
        return _PRIMITIVE_SQL[fhir_type]
    return scalar_kind(fhir_type)


@dataclass
class Field:
    """An element the view reads: FHIR type, cardinality, the children it reads."""

    fhir_type: str
    is_list: bool
    children: dict[str, Field] = field(default_factory=dict)

    def child(self, key: str, fhir_type: str, is_list: bool) -> Field:
        """Record (once) that the view reads child ``key`` of this element."""
        found = self.children.get(key)
        if found is None:
            found = self.children[key] = Field(fhir_type, is_list)
        return found

    def item_type(self) -> str:
        """The DuckDB type of one item of this element."""
        primitive = primitive_sql(self.fhir_type)
        if primitive is not None:
            return primitive
        if not self.children:
            return "JSON"
        inner = ", ".join(f'"{k}" {v.duck_type()}' for k, v in self.children.items())
        return f"STRUCT({inner})"

    def duck_type(self) -> str:
        """The DuckDB type of this element (a list when it repeats)."""
        return self.item_type() + ("[]" if self.is_list else "")

    def transform_spec(self) -> object:
        """The structure argument of DuckDB's ``json_transform`` for this element."""
        primitive = primitive_sql(self.fhir_type)
        if primitive is not None or not self.children:
            spec: object = primitive or "JSON"
        else:
            spec = {k: v.transform_spec() for k, v in self.children.items()}
        return [spec] if self.is_list else spec


def root(resource_type: str) -> Field:
    """The root of a resource, reading at least its type and id."""
    top = Field(resource_type, False)
    top.child("resourceType", "code", False)
    top.child("id", "id", False)
    return top


def read_json_columns(top: Field) -> str:
    """The ``columns`` argument of ``read_json`` for the top-level elements."""
    parts = [f"{_sql_string(k)}: {_sql_string(v.duck_type())}" for k, v in top.children.items()]
    return "{" + ", ".join(parts) + "}"


def pack_columns(top: Field) -> str:
    """A struct of the top-level columns ``read_json`` produced, as the view's root."""
    return "{" + ", ".join(f'{_sql_string(k)}: "{k}"' for k in top.children) + "}"


def transform(top: Field) -> str:
    """The ``json_transform`` structure (JSON text) of the whole root."""
    return json.dumps(top.transform_spec(), separators=(",", ":"))


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
