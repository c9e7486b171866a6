"""FHIRPath edge cases the conformance suite does not pin down."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from bmb.sources.fhir.errors import FhirPathError, FhirPathSyntaxError
from bmb.sources.fhir.fhirpath import evaluate, output_value, parse

PATIENT: dict[str, Any] = {
    "resourceType": "Patient",
    "id": "p1",
    "birthDate": "1970-06",
    "deceasedDateTime": "2020-01-02T10:00:00+02:00",
    "name": [{"use": "official", "family": "Rossi", "given": ["Anna", "Maria"]}, {"given": ["A"]}],
    "extension": [{"url": "http://x/e", "valueCode": "F"}],
}


def _eval(expr: str, resource: dict[str, Any] = PATIENT) -> list[Any]:
    return [output_value(v) for v in evaluate(expr, resource)]


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("{} and false", [False]),
        ("{} and true", []),
        ("{} or true", [True]),
        ("{} or false", []),
        ("false implies {}", [True]),
        ("true xor {}", []),
        ("(true and {}).not()", []),
    ],
)
def test_boolean_logic_is_three_valued(expr: str, expected: list[Any]) -> None:
    assert _eval(expr) == expected


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("birthDate = @1970-06", [True]),
        ("birthDate = @1970-06-01", []),  # different precision: unknown
        ("birthDate < @1971", [True]),
        ("birthDate > @1970-06-15", []),
        ("deceased.ofType(dateTime) = @2020-01-02T08:00:00Z", [True]),
        ("birthDate + 1 year", ["1971-06"]),
    ],
)
def test_dates_compare_with_their_precision(expr: str, expected: list[Any]) -> None:
    assert _eval(expr) == expected


def test_navigation_flattens_and_indexes_the_whole_collection() -> None:
    assert _eval("name.given") == ["Anna", "Maria", "A"]
    assert _eval("name.given[2]") == ["A"]
    assert _eval("name[1].family") == []


def test_choice_elements_resolve_by_type_suffix() -> None:
    assert _eval("extension('http://x/e').value") == ["F"]
    assert _eval("extension('http://x/e').value.ofType(code)") == ["F"]
    assert _eval("extension('http://x/e').value.ofType(string)") == ["F"]  # code is a string
    assert _eval("extension('http://x/e').value.ofType(Coding)") == []


def test_arithmetic_is_decimal_and_division_by_zero_is_empty() -> None:
    assert evaluate("0.1 + 0.2 = 0.3", PATIENT) == [True]
    assert evaluate("7 / 2", PATIENT) == [Decimal("3.5")]
    assert _eval("1 / 0") == []
    assert _eval("7 div 2") == [3]
    assert _eval("-7 mod 2") == [-1]


def test_strings_concatenate_and_escape() -> None:
    assert _eval("'it\\'s' & {} & 'ok'") == ["it'sok"]
    assert _eval("name.given.join(', ')") == ["Anna, Maria, A"]
    assert _eval("name.family.upper().substring(1, 2)") == ["OS"]


def test_union_removes_duplicates_and_combine_keeps_them() -> None:
    assert _eval("name.given | name.given") == ["Anna", "Maria", "A"]
    assert _eval("name.given.combine(name.given).count()") == [6]


def test_operator_on_many_items_is_an_error() -> None:
    with pytest.raises(FhirPathError, match="expects a single item, got 3"):
        evaluate("name.given > 'B'", PATIENT)


def test_unknown_constant_is_an_error() -> None:
    with pytest.raises(FhirPathError, match="%nope is not defined"):
        evaluate("%nope", PATIENT)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name.", "expected a name at the end"),
        ("name.where(use = ", "expected an expression at the end"),
        ("name # x", "unexpected character '#' at position 5"),
        ("@2020-13-45", "invalid date/time literal"),
    ],
)
def test_syntax_errors_say_where(text: str, message: str) -> None:
    with pytest.raises(FhirPathSyntaxError, match=message):
        parse(text)


def test_reference_keys_follow_literal_and_uuid_references() -> None:
    obs = {
        "resourceType": "Observation",
        "id": "o1",
        "subject": {"reference": "https://h/fhir/Patient/p9/_history/3"},
        "performer": [
            {"reference": "urn:uuid:0f3f5f9e-8a7b-4c1d-9e2f-1a2b3c4d5e6f", "type": "Practitioner"},
            {"reference": "#contained"},
        ],
    }
    assert _eval("subject.getReferenceKey(Patient)", obs) == ["p9"]
    assert _eval("subject.getReferenceKey(Group)", obs) == []
    assert _eval("performer.getReferenceKey()", obs) == ["0f3f5f9e-8a7b-4c1d-9e2f-1a2b3c4d5e6f"]
    assert _eval("getResourceKey()", obs) == ["o1"]
