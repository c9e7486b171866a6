"""What BMB knows of FHIR R4's structure: element names, types and cardinalities.

FHIR JSON does not say everything FHIRPath needs: a choice element ``value[x]`` appears
as ``valueQuantity``, and whether ``subject`` may repeat is written in the
StructureDefinition, not in one resource. The evaluator uses this table to resolve
choice elements and ``ofType()``; the SQL compiler uses it to know, before seeing any
data, which steps of a path are arrays. The table is generated from the FHIR 4.0.1
definitions (``_generate.py``, ADR 0010) and shipped with the package.

Elements the table does not know (a newer FHIR version, a typo) are still navigated by
the evaluator from the data itself; the compiler declines them.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

#: FHIR primitive types, by FHIRPath name (``FHIR.code`` is written ``code``).
PRIMITIVES = frozenset(
    {
        "base64Binary",
        "boolean",
        "canonical",
        "code",
        "date",
        "dateTime",
        "decimal",
        "id",
        "instant",
        "integer",
        "integer64",
        "markdown",
        "oid",
        "positiveInt",
        "string",
        "time",
        "unsignedInt",
        "uri",
        "url",
        "uuid",
        "xhtml",
    }
)

#: The table's name for a string-like primitive whose exact type it did not record.
INEXACT_STRING = "str"

#: Primitive specializations (FHIR R4 ``baseDefinition``), child -> parent.
_PRIMITIVE_BASES = {
    "code": "string",
    "id": "string",
    "markdown": "string",
    "url": "uri",
    "canonical": "uri",
    "oid": "uri",
    "uuid": "uri",
    "positiveInt": "integer",
    "unsignedInt": "integer",
}

#: Every primitive that an inexact "str" element may really be.
STRING_FAMILY = frozenset(
    {"string", "code", "id", "markdown", "uri", "url", "canonical", "oid", "uuid", "base64Binary"}
)


@dataclass(frozen=True, slots=True)
class ElementInfo:
    """One element of a FHIR type: its FHIR type(s), and whether it may repeat."""

    name: str
    types: tuple[str, ...]
    is_list: bool
    choice: bool

    def json_keys(self) -> tuple[tuple[str, str], ...]:
        """The JSON keys this element may appear under, with the FHIR type of each."""
        if not self.choice:
            return ((self.name, self.types[0]),)
        return tuple((self.name + t[0].upper() + t[1:], t) for t in self.types)


class FhirModel:
    """The FHIR R4 element table, with type-hierarchy questions FHIRPath asks of it."""

    def __init__(self, table: dict[str, dict[str, object]]) -> None:
        self._types = table
        self._cache: dict[tuple[str, str], ElementInfo | None] = {}

    def element(self, type_name: str, name: str) -> ElementInfo | None:
        """The element ``name`` of ``type_name``, or None when the table does not know it."""
        key = (type_name, name)
        if key in self._cache:
            return self._cache[key]
        info: ElementInfo | None = None
        spec = self._types.get(type_name)
        if spec is not None:
            elements = spec["elements"]
            assert isinstance(elements, dict)
            raw = elements.get(name)
            if raw is not None:
                typ, is_list = raw
                if isinstance(typ, list):
                    info = ElementInfo(name, tuple(typ), bool(is_list), True)
                else:
                    info = ElementInfo(name, (str(typ),), bool(is_list), False)
        self._cache[key] = info
        return info

    def is_resource(self, name: str) -> bool:
        """Whether ``name`` is a resource type (``Patient``, also ``Resource``)."""
        spec = self._types.get(name)
        return bool(spec and spec["resource"])

    def is_known_type(self, name: str) -> bool:
        """Whether ``name`` names a FHIR type (primitive, complex, resource)."""
        return name in PRIMITIVES or name in self._types

    def base(self, name: str) -> str | None:
        """The type ``name`` specializes, if any."""
        if name in _PRIMITIVE_BASES:
            return _PRIMITIVE_BASES[name]
        spec = self._types.get(name)
        base = spec.get("base") if spec else None
        return str(base) if base else None

    def is_subtype(self, name: str, of: str) -> bool:
        """Whether a value of type ``name`` is also of type ``of`` (``Age`` is ``Quantity``)."""
        if name == INEXACT_STRING:
            return of in STRING_FAMILY
        current: str | None = name
        seen: set[str] = set()
        while current is not None and current not in seen:
            if current == of:
                return True
            seen.add(current)
            current = self.base(current)
        return False


@cache
def r4() -> FhirModel:
    """The FHIR R4 (4.0.1) model shipped with BMB."""
    data = resources.files(__package__).joinpath("r4.json.gz").read_bytes()
    table = json.loads(gzip.decompress(data))
    return FhirModel(table["types"])
