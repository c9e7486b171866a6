"""Column types: declared, or inferred from the path through the FHIR model."""

from __future__ import annotations

import pyarrow as pa

from bmb.sources.fhir.column_types import column_fhir_types, schema
from bmb.sources.fhir.runner import evaluate_batches
from bmb.sources.fhir.viewdef import parse_view

VIEW = parse_view(
    {
        "resource": "Observation",
        "select": [
            {
                "column": [
                    {"name": "id", "path": "id"},
                    {"name": "value", "path": "value.ofType(Quantity).value"},
                    {"name": "has_note", "path": "note.exists()"},
                    {"name": "codes", "path": "code.coding.code", "collection": True},
                    {"name": "n", "path": "component.count()"},
                    {"name": "issued", "path": "issued"},
                    {"name": "declared", "path": "status", "type": "code"},
                ]
            }
        ],
    }
)


def test_undeclared_types_are_inferred_from_the_model() -> None:
    assert column_fhir_types(VIEW) == {
        "id": "string",
        "value": "decimal",
        "has_note": "boolean",
        "codes": "string",
        "n": "integer",
        "issued": "instant",
        "declared": "code",
    }
    assert schema(VIEW) == pa.schema(
        [
            ("id", pa.string()),
            ("value", pa.float64()),
            ("has_note", pa.bool_()),
            ("codes", pa.list_(pa.string())),
            ("n", pa.int64()),
            ("issued", pa.string()),
            ("declared", pa.string()),
        ]
    )


def test_both_paths_produce_the_inferred_types() -> None:
    obs = {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": {"coding": [{"code": "a"}, {"code": "b"}]},
        "valueQuantity": {"value": 1.5},
        "issued": "2024-01-01T10:00:00+01:00",
    }

    for path in ("compiled", "reference"):
        batches = list(evaluate_batches(VIEW, [obs], path=path))

        assert batches[0].schema == schema(VIEW), path
        assert batches[0].to_pylist() == [
            {"id": "o1", "value": 1.5, "has_note": False, "codes": ["a", "b"], "n": 0,
             "issued": "2024-01-01T10:00:00+01:00", "declared": "final"}
        ], path  # fmt: skip
