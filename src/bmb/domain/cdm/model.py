"""The shape of a CDM table declaration."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CdmField:
    """One field of an OMOP CDM table, as the official spec declares it."""

    name: str
    datatype: str  # the spec's type: integer, float, date, datetime, varchar(n), varchar(max)
    required: bool
    pk: bool = False
    fk: tuple[str, str] | None = None  # (table, field) this field references
    domain: str | None = None  # for concept ids: the concept domain expected

    @property
    def kind(self) -> str:
        """integer, float, date, datetime or string: the type without its length."""
        if self.datatype.startswith("varchar"):
            return "string"
        return self.datatype

    @property
    def is_concept_id(self) -> bool:
        return self.fk is not None and self.fk[0] == "concept"


@dataclass(frozen=True, slots=True)
class CdmTable:
    """One OMOP CDM table: its schema (CDM or VOCAB) and fields in spec order."""

    name: str
    schema: str
    fields: tuple[CdmField, ...]

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def primary_key(self) -> str | None:
        for f in self.fields:
            if f.pk:
                return f.name
        return None

    def field(self, name: str) -> CdmField:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"CDM table {self.name} has no field {name}")
