"""Regenerate ``r4.json.gz``, BMB's table of FHIR R4 element names, types and cardinalities.

Run ``python -m bmb.sources.fhir.model._generate`` with the dev dependency ``fhirclient``
installed. The table is generated, not hand-written: SMART's ``fhirclient`` models are
themselves generated from the FHIR 4.0.1 StructureDefinitions, and reading them is
the only way we have to the official definitions offline (ADR 0010). The output is
committed, so nothing at run time imports ``fhirclient``.

Output shape: ``{"version", "types": {Name: {"base", "resource", "elements"}}}`` where
``elements`` maps a JSON element name to ``[type, is_list]`` or, for a choice element
``value[x]``, to ``[[type, ...], is_list]`` keyed by its stem (``value``). Choice types
are exact (the JSON key names them); other string-like primitives are "str".
"""

from __future__ import annotations

import gzip
import importlib
import inspect
import json
import pkgutil
from pathlib import Path
from typing import Any

OUT = Path(__file__).with_name("r4.json.gz")

# fhirclient types every string-like primitive (string, code, id, uri, ...) as ``str``;
# the table keeps that as "str", "a string-like primitive of unrecorded exact type".
_PRIMITIVE_CLASSES = {
    "str": "str",
    "bool": "boolean",
    "int": "integer",
    "float": "decimal",
    "FHIRDate": "date",
    "FHIRDateTime": "dateTime",
    "FHIRInstant": "instant",
    "FHIRTime": "time",
}
PRIMITIVES = {
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


def _type_name(cls: type) -> str:
    name = _PRIMITIVE_CLASSES.get(cls.__name__)
    if name is not None:
        return name
    return str(getattr(cls, "resource_type", cls.__name__))


def _choice_type(stem: str, json_name: str) -> str:
    suffix = json_name[len(stem) :]
    lowered = suffix[0].lower() + suffix[1:]
    return lowered if lowered in PRIMITIVES else suffix


def build() -> dict[str, Any]:
    """Walk every fhirclient model class and return the element table."""
    import fhirclient.models as models  # type: ignore[import-untyped]
    from fhirclient.models.fhirabstractbase import (  # type: ignore[import-untyped]
        FHIRAbstractBase,
    )
    from fhirclient.models.resource import Resource  # type: ignore[import-untyped]

    types: dict[str, Any] = {}
    for info in pkgutil.iter_modules(models.__path__):
        module = importlib.import_module(f"fhirclient.models.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__ or not issubclass(cls, FHIRAbstractBase):
                continue
            name = _type_name(cls)
            if name in types or name.startswith("FHIR"):
                continue
            base = cls.__mro__[1]
            elements: dict[str, Any] = {}
            instance: Any = cls()
            for _, json_name, typ, is_list, of_many, _ in instance.elementProperties():
                if of_many:
                    entry = elements.setdefault(of_many, [[], bool(is_list)])
                    entry[0].append(_choice_type(of_many, json_name))
                else:
                    elements[json_name] = [_type_name(typ), bool(is_list)]
            base_name = None if base.__name__.startswith("FHIRAbstract") else _type_name(base)
            types[name] = {
                "base": None if base_name == name else base_name,
                "resource": issubclass(cls, Resource),
                "elements": elements,
            }
    return {"version": "4.0.1", "types": types}


def main() -> None:
    table = build()
    data = json.dumps(table, sort_keys=True, separators=(",", ":")).encode()
    OUT.write_bytes(gzip.compress(data, mtime=0))
    print(f"wrote {OUT} ({len(table['types'])} types, {len(data):,} bytes)")


if __name__ == "__main__":
    main()
