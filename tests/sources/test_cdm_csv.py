"""Reading OMOP CDMs held as CSV: Eunomia GiBleed (v5.3, gzipped) and Synthea (zip)."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

import pyarrow as pa
import pytest

from bmb.domain.cdm import CDM_TABLES
from bmb.domain.errors import DataError
from bmb.sources.cdm_csv import read_cdm_csv


@pytest.mark.parametrize("dataset", ["GiBleed_5.3", "Synthea27Nj_5.4.zip"])
def test_row_counts_match_the_published_counts(dataset: str, fixtures_dir: Path) -> None:
    eunomia = fixtures_dir / "eunomia"
    counts = json.loads((eunomia / f"{dataset.removesuffix('.zip')}_row_counts.json").read_text())

    data = read_cdm_csv(eunomia / dataset)

    for name, info in counts.items():
        if name in CDM_TABLES:
            assert data.tables[name].num_rows == info["rows"], name
    assert "ontime" not in data.tables


def test_tables_are_typed_and_ordered_by_the_spec(fixtures_dir: Path) -> None:
    data = read_cdm_csv(
        fixtures_dir / "eunomia" / "GiBleed_5.3", tables=["person", "concept_ancestor"]
    )

    person = data.tables["person"]
    assert tuple(person.column_names) == CDM_TABLES["person"].field_names
    assert person.schema.field("person_id").type == pa.int64()
    assert person.schema.field("birth_datetime").type == pa.timestamp("us")
    # concept_ancestor.csv writes ids as "4180628.0": read as whole numbers.
    assert data.tables["concept_ancestor"].column("ancestor_concept_id")[0].as_py() == 4180628
    assert set(data.tables) == {"person", "concept_ancestor"}


def test_v53_columns_are_renamed_and_reported(fixtures_dir: Path) -> None:
    data = read_cdm_csv(fixtures_dir / "eunomia" / "GiBleed_5.3", tables=["visit_occurrence"])

    assert "admitted_from_concept_id" in data.tables["visit_occurrence"].column_names
    assert any(
        "admitting_source_concept_id read as admitted_from_concept_id" in n for n in data.notes
    )


def test_datetime_text_in_a_date_column_is_read_as_its_date(fixtures_dir: Path) -> None:
    data = read_cdm_csv(fixtures_dir / "eunomia" / "Synthea27Nj_5.4.zip", tables=["condition_era"])
    assert data.tables["condition_era"].column("condition_era_start_date")[0].as_py() == dt.date(
        2005, 5, 7
    )


def test_bad_value_names_file_row_and_column(tmp_path: Path) -> None:
    (tmp_path / "person.csv.gz").write_bytes(
        gzip.compress(b"person_id,gender_concept_id,year_of_birth\n1,8507,1950\n2,8532,19x0\n")
    )
    with pytest.raises(DataError, match=r"person\.csv\.gz: row 3, column year_of_birth: '19x0'"):
        read_cdm_csv(tmp_path)


def test_empty_text_is_null_and_missing_columns_are_null(tmp_path: Path) -> None:
    (tmp_path / "PERSON.csv").write_text(
        "person_id,gender_concept_id,year_of_birth,person_source_value\n1,8507,,\n"
    )
    person = read_cdm_csv(tmp_path).tables["person"]
    row = person.to_pylist()[0]
    assert row["year_of_birth"] is None
    assert row["person_source_value"] is None
    assert row["race_concept_id"] is None


def test_a_folder_without_csv_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no CSV files"):
        read_cdm_csv(tmp_path)
