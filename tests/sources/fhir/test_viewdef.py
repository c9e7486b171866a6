"""Invalid ViewDefinitions fail at load with the element at fault named."""

from __future__ import annotations

from typing import Any

import pytest

from bmb.sources.fhir.errors import ViewDefinitionError
from bmb.sources.fhir.viewdef import parse_view


def _col(name: str, path: str = "id") -> dict[str, Any]:
    return {"name": name, "path": path}


@pytest.mark.parametrize(
    ("view", "message"),
    [
        ({"select": [{"column": [_col("id")]}]}, "at resource: a ViewDefinition needs"),
        ({"resource": "Patient"}, "at select: a ViewDefinition needs at least one select"),
        ({"resource": "Patient", "select": [{"forEach": 1}]}, "at select[0].forEach: must be"),
        ({"resource": "Patient", "select": [{"column": [_col("a"), _col("a")]}]},
         "at select[0].column[1].name: column 'a' is already defined"),
        ({"resource": "Patient", "select": [{"column": [_col("a", "foo(")]}]},
         "at select[0].column[0].path: FHIRPath 'foo('"),
        ({"resource": "Patient", "select": [{"column": [_col("a", "name.frobnicate()")]}]},
         "unknown FHIRPath function frobnicate()"),
        ({"resource": "Patient", "select": [{"column": [_col("a", "%x")]}]},
         "%x is not a defined constant"),
        ({"resource": "Patient", "constant": [{"name": "c", "valueInteger": "1"}],
          "select": [{"column": [_col("a")]}]}, "at constant[0].valueInteger"),
        ({"resource": "Patient", "select": [{"unionAll": [{"column": [_col("a")]},
                                                          {"column": [_col("b")]}]}]},
         "at select[0].unionAll[1]: unionAll branches must have the same columns"),
        ({"resource": "Patient", "select": [{"column": [_col("a-b")]}]},
         "'a-b' is not a valid column name"),
    ],
)  # fmt: skip
def test_invalid_view_names_the_element(view: dict[str, Any], message: str) -> None:
    with pytest.raises(ViewDefinitionError) as info:
        parse_view(view, "v.json")

    assert message in str(info.value)
    assert str(info.value).startswith("ViewDefinition v.json")


def test_columns_come_out_in_the_specs_order() -> None:
    view = parse_view({"resource": "Patient", "select": [
        {"column": [_col("a")], "select": [{"column": [_col("b")]}],
         "unionAll": [{"column": [_col("c")]}]},
        {"column": [_col("d")]}]})  # fmt: skip

    assert [c.name for c in view.columns] == ["a", "b", "c", "d"]
