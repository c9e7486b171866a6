"""Record layouts of the Italian flows, declared as data.

A layout is the contract between the synthetic region, which writes records, and the
readers in ``sources/``, which parse and validate them. Declaring it once keeps the
two in step: a test writes every layout with the generator and parses it back field
by field.

Positions of fixed-width layouts are 1-based and inclusive, as in the regional
specifications they come from, and count characters of the decoded line.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum


class FieldType(StrEnum):
    """How a field's text is read."""

    TEXT = "text"  # free text, trimmed
    CODE = "code"  # a code, trimmed; checked against ``codes`` when given
    INT = "int"  # an integer, digits only (left-padded with zeros or spaces)
    DECIMAL = "decimal"  # a number; ``scale`` implied decimals when the text has no separator
    DATE = "date"  # a date in ``fmt`` (strptime syntax)
    TIME = "time"  # a time of day in ``fmt``


class Identifier(StrEnum):
    """What kind of personal data a field holds; governs pseudonymization.

    ``DIRECT`` fields (fiscal codes, names) never leave the landing zone: the
    pipeline turns the patient's fiscal code into ``person_id`` and drops the rest.
    """

    NONE = "none"
    PATIENT_ID = "patient_id"  # the patient's fiscal code (or STP/ENI/TEAM code)
    PROVIDER_ID = "provider_id"  # a doctor's fiscal code: becomes a keyed provider id
    DIRECT = "direct"  # any other direct identifier: names, addresses, card numbers


@dataclass(frozen=True, slots=True)
class Field:
    """One field of a record layout."""

    name: str
    type: FieldType
    start: int = 0  # fixed width: first character, 1-based; delimited: unused
    length: int = 0  # fixed width: characters; delimited: maximum length (0 = any)
    required: bool = False
    fmt: str = ""  # DATE/TIME format, strptime syntax
    scale: int = 0  # DECIMAL: implied decimal places
    codes: frozenset[str] = frozenset()  # CODE: the allowed values, empty = any
    identifier: Identifier = Identifier.NONE
    description: str = ""

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ValueError(f"field name {self.name!r} is not an identifier")
        if self.type in (FieldType.DATE, FieldType.TIME) and not self.fmt:
            raise ValueError(f"field {self.name}: dates and times need a format")
        if self.start < 0 or self.length < 0:
            raise ValueError(f"field {self.name}: negative position or length")

    @property
    def end(self) -> int:
        """Last character (1-based, inclusive) of a fixed-width field."""
        return self.start + self.length - 1


class Framing(StrEnum):
    """How records are cut into fields."""

    FIXED = "fixed"
    DELIMITED = "delimited"


@dataclass(frozen=True, slots=True)
class Layout:
    """The record layout of one file kind of a flow."""

    name: str  # e.g. "sdo_a"
    flow: str  # e.g. "sdo"
    title: str
    framing: Framing
    fields: tuple[Field, ...]
    separator: str = ""  # DELIMITED only
    source: str = ""  # where the layout comes from
    record_key: tuple[str, ...] = field(default_factory=tuple)  # fields identifying a record

    def __post_init__(self) -> None:
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise ValueError(f"layout {self.name}: duplicate field names")
        if self.framing is Framing.DELIMITED and not self.separator:
            raise ValueError(f"layout {self.name}: a delimited layout needs a separator")
        if self.framing is Framing.FIXED:
            pos = 1
            for f in self.fields:
                if f.start != pos:
                    raise ValueError(
                        f"layout {self.name}: field {f.name} starts at {f.start}, expected {pos}"
                    )
                if f.length <= 0:
                    raise ValueError(f"layout {self.name}: field {f.name} has no length")
                pos = f.end + 1
        for key in self.record_key:
            if key not in names:
                raise ValueError(f"layout {self.name}: record key {key} is not a field")

    @property
    def width(self) -> int:
        """Characters in a fixed-width record."""
        return self.fields[-1].end if self.framing is Framing.FIXED else 0

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"layout {self.name} has no field {name}")

    def __iter__(self) -> Iterator[Field]:
        return iter(self.fields)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def patient_id_field(self) -> str | None:
        """The field holding the patient's fiscal code, if the layout has one."""
        for f in self.fields:
            if f.identifier is Identifier.PATIENT_ID:
                return f.name
        return None


def fixed(*specs: tuple[str, FieldType, int] | Field) -> tuple[Field, ...]:
    """Build fixed-width fields from (name, type, length) tuples, computing starts.

    Fields given as :class:`Field` keep their options; their start is recomputed.
    Writing lengths instead of positions keeps the declarations short and makes a
    gap or an overlap impossible.
    """
    out: list[Field] = []
    pos = 1
    for spec in specs:
        if isinstance(spec, Field):
            f = Field(
                name=spec.name,
                type=spec.type,
                start=pos,
                length=spec.length,
                required=spec.required,
                fmt=spec.fmt,
                scale=spec.scale,
                codes=spec.codes,
                identifier=spec.identifier,
                description=spec.description,
            )
        else:
            name, ftype, length = spec
            f = Field(name=name, type=ftype, start=pos, length=length)
        out.append(f)
        pos += f.length
    return tuple(out)
