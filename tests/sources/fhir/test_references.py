"""Conditional references taken apart: what BMB can resolve and what it reports."""

from __future__ import annotations

from bmb.sources.fhir.references import IdentifierCriterion, parse_conditional


def test_identifier_with_system_and_value() -> None:
    ref = parse_conditional("Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|9999941")
    assert ref is not None
    assert ref.resource_type == "Practitioner"
    assert ref.criteria == (IdentifierCriterion("http://hl7.org/fhir/sid/us-npi", "9999941"),)
    assert ref.unsupported == ()


def test_url_encoded_bar_any_system_and_no_system() -> None:
    encoded = parse_conditional(
        "Patient?identifier=http%3A%2F%2Fhl7.it%2Fsid%2FcodiceFiscale%7CRSSMRA"
    )
    assert encoded is not None
    assert encoded.criteria == (IdentifierCriterion("http://hl7.it/sid/codiceFiscale", "RSSMRA"),)
    bare = parse_conditional("Patient?identifier=12345")
    assert bare is not None
    assert bare.criteria == (IdentifierCriterion(None, "12345"),)
    empty_system = parse_conditional("Patient?identifier=|12345")
    assert empty_system is not None
    assert empty_system.criteria == (IdentifierCriterion("", "12345"),)


def test_or_alternatives_and_unsupported_parameters() -> None:
    ref = parse_conditional(r"Organization?identifier=s|a,s|b\,c&name=Foo")
    assert ref is not None
    assert ref.criteria == (IdentifierCriterion("s", "a"), IdentifierCriterion("s", "b,c"))
    assert ref.unsupported == ("name",)


def test_literal_and_absolute_references_are_not_conditional() -> None:
    assert parse_conditional("Patient/123") is None
    assert parse_conditional("urn:uuid:3f2a") is None
    absolute = parse_conditional("https://fhir.example.org/r4/Patient?identifier=x|1")
    assert absolute is not None
    assert absolute.resource_type == "Patient"
