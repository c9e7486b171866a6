"""Short constructors for layout fields, so layouts read like their specifications."""

from __future__ import annotations

from collections.abc import Mapping

from bmb.domain.flows.layout import Field, FieldType, Identifier


def text(name: str, length: int = 0, *, required: bool = False, description: str = "") -> Field:
    return Field(name, FieldType.TEXT, length=length, required=required, description=description)


def code(
    name: str,
    length: int = 0,
    codes: Mapping[str, str] | None = None,
    *,
    required: bool = False,
    description: str = "",
) -> Field:
    return Field(
        name,
        FieldType.CODE,
        length=length,
        required=required,
        codes=frozenset(codes or ()),
        description=description,
    )


def integer(name: str, length: int = 0, *, required: bool = False, description: str = "") -> Field:
    return Field(name, FieldType.INT, length=length, required=required, description=description)


def decimal(
    name: str, length: int = 0, scale: int = 2, *, required: bool = False, description: str = ""
) -> Field:
    return Field(
        name,
        FieldType.DECIMAL,
        length=length,
        scale=scale,
        required=required,
        description=description,
    )


def date(
    name: str,
    length: int = 8,
    fmt: str = "%Y%m%d",
    *,
    required: bool = False,
    description: str = "",
) -> Field:
    return Field(
        name, FieldType.DATE, length=length, fmt=fmt, required=required, description=description
    )


def time(
    name: str, length: int = 4, fmt: str = "%H%M", *, required: bool = False, description: str = ""
) -> Field:
    return Field(
        name, FieldType.TIME, length=length, fmt=fmt, required=required, description=description
    )


def patient_id(name: str, length: int = 16, description: str = "patient's fiscal code") -> Field:
    return Field(
        name,
        FieldType.CODE,
        length=length,
        required=True,
        identifier=Identifier.PATIENT_ID,
        description=description,
    )


def direct(name: str, length: int = 0, description: str = "") -> Field:
    return Field(
        name, FieldType.TEXT, length=length, identifier=Identifier.DIRECT, description=description
    )


def provider(name: str, length: int = 16, description: str = "") -> Field:
    return Field(
        name,
        FieldType.CODE,
        length=length,
        identifier=Identifier.PROVIDER_ID,
        description=description,
    )
