"""BMB's CDM declarations match the official OMOP CDM v5.4 field-level spec."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from bmb.domain.cdm import CDM_TABLES, CLINICAL_TABLES, VOCABULARY_TABLES


@pytest.fixture(scope="module")
def spec_rows(fixtures_dir: Path) -> list[dict[str, str]]:
    path = fixtures_dir / "omop-cdm" / "OMOP_CDMv5.4_Field_Level.csv"
    with path.open(encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def test_cdm_has_all_39_tables_of_the_spec(fixtures_dir: Path) -> None:
    path = fixtures_dir / "omop-cdm" / "OMOP_CDMv5.4_Table_Level.csv"
    with path.open(encoding="utf-8-sig") as fh:
        names = [r["cdmTableName"].lower() for r in csv.DictReader(fh)]
    assert len(names) == 39
    assert list(CDM_TABLES) == names


def test_cdm_fields_match_spec_names_types_required_and_keys(
    spec_rows: list[dict[str, str]],
) -> None:
    seen = 0
    for row in spec_rows:
        table = CDM_TABLES[row["cdmTableName"].lower()]
        field = table.field(row["cdmFieldName"].lower())
        assert field.datatype == row["cdmDatatype"].lower(), field.name
        assert field.required == (row["isRequired"] == "Yes"), field.name
        assert field.pk == (row["isPrimaryKey"] == "Yes"), field.name
        if row["isForeignKey"] == "Yes":
            assert field.fk == (row["fkTableName"].lower(), row["fkFieldName"].lower())
        else:
            assert field.fk is None
        seen += 1
    assert seen == 432
    assert sum(len(t.fields) for t in CDM_TABLES.values()) == 432


def test_cdm_field_order_follows_the_spec(spec_rows: list[dict[str, str]]) -> None:
    person = [r["cdmFieldName"].lower() for r in spec_rows if r["cdmTableName"] == "person"]
    assert CDM_TABLES["person"].field_names == tuple(person)


def test_clinical_and_vocabulary_schemas_partition_the_tables() -> None:
    assert "person" in CLINICAL_TABLES
    assert "concept" in VOCABULARY_TABLES
    assert set(CLINICAL_TABLES) | set(VOCABULARY_TABLES) <= set(CDM_TABLES)
    assert not set(CLINICAL_TABLES) & set(VOCABULARY_TABLES)


def test_person_key_and_concept_fields() -> None:
    person = CDM_TABLES["person"]
    assert person.primary_key == "person_id"
    assert person.field("gender_concept_id").is_concept_id
    assert person.field("gender_concept_id").domain == "Gender"
    assert person.field("person_source_value").kind == "string"
