"""The shipped FHIR R4 element table: what it says, and that it is what the generator makes."""

from __future__ import annotations

import gzip
import json
from importlib import resources

from bmb.sources.fhir.model import r4
from bmb.sources.fhir.model._generate import build


def test_table_knows_cardinality_and_choice_types() -> None:
    model = r4()

    name = model.element("Patient", "name")
    subject = model.element("Observation", "subject")
    value = model.element("Observation", "value")

    assert name is not None
    assert name.is_list
    assert name.types == ("HumanName",)
    assert subject is not None
    assert not subject.is_list
    assert subject.types == ("Reference",)
    assert value is not None
    assert value.choice
    assert "Quantity" in value.types
    assert ("valueCodeableConcept", "CodeableConcept") in value.json_keys()
    assert model.element("Patient", "nonsense") is None


def test_type_hierarchy_follows_fhir() -> None:
    model = r4()

    assert model.is_subtype("Age", "Quantity")
    assert model.is_subtype("code", "string")
    assert model.is_subtype("str", "uri")  # an inexact string-like primitive
    assert not model.is_subtype("Quantity", "Age")
    assert model.is_resource("Patient")
    assert not model.is_resource("HumanName")


def test_shipped_table_is_what_the_generator_makes() -> None:
    shipped = resources.files("bmb.sources.fhir.model").joinpath("r4.json.gz").read_bytes()

    assert json.loads(gzip.decompress(shipped)) == build()
