"""Streaming views over files: gzip, Bundles, bad lines, both paths, atomic output."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from bmb.sources.fhir.column_types import schema
from bmb.sources.fhir.errors import FhirInputError
from bmb.sources.fhir.ndjson import read_json_file
from bmb.sources.fhir.runner import evaluate_batches, file_batches, run_view
from bmb.sources.fhir.viewdef import ViewDefinition, load_view

VIEWS = Path(__file__).resolve().parents[3] / "src" / "bmb" / "sources" / "fhir" / "views"


@pytest.fixture(scope="module")
def synthea(fixtures_dir: Path) -> list[dict[str, Any]]:
    """Resources of three Synthea bundles, references rewritten to Type/id."""
    bundles = sorted((fixtures_dir / "synthea-fhir-r4").glob("*.json.gz"))[:3]
    return [r for b in bundles for r in read_json_file(b)]


def _ndjson(path: Path, resources: list[dict[str, Any]]) -> Path:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "wt", encoding="utf-8") as handle:
        for r in resources:
            handle.write(json.dumps(r, default=float) + "\n")
    return path


def _sorted(path: Path) -> list[dict[str, Any]]:
    return sorted(pq.read_table(path).to_pylist(), key=lambda r: json.dumps(r, sort_keys=True))


@pytest.mark.parametrize("name", ["observation_flat", "patient_flat"])
def test_both_paths_write_the_same_parquet_from_gzip_ndjson(
    tmp_path: Path, synthea: list[dict[str, Any]], name: str
) -> None:
    view = load_view(VIEWS / f"{name}.json")
    data = _ndjson(tmp_path / f"{view.resource}.ndjson.gz", synthea)

    compiled = run_view(view, [data], tmp_path / "c.parquet", path="compiled", workers=2)
    reference = run_view(view, [data], tmp_path / "r.parquet", path="reference", workers=1)

    assert (compiled.path, reference.path) == ("compiled", "reference")
    assert compiled.rows == sum(r["resourceType"] == view.resource for r in synthea) > 0
    assert _sorted(tmp_path / "c.parquet") == _sorted(tmp_path / "r.parquet")
    expected = schema(view)
    for out in ("c.parquet", "r.parquet"):
        assert pq.read_schema(tmp_path / out).remove_metadata().equals(expected), out


def test_bundle_references_resolve_to_patient_keys(
    tmp_path: Path, fixtures_dir: Path, synthea: list[dict[str, Any]]
) -> None:
    view = load_view(VIEWS / "observation_flat.json")
    bundle = sorted((fixtures_dir / "synthea-fhir-r4").glob("*.json.gz"))[0]

    run_view(view, [bundle], tmp_path / "o.parquet")

    patients = {r["id"] for r in read_json_file(bundle) if r["resourceType"] == "Patient"}
    keys = set(pq.read_table(tmp_path / "o.parquet").column("patient_id").to_pylist())
    assert keys == patients


def test_malformed_gzip_line_is_named_and_no_output_is_left(tmp_path: Path) -> None:
    data = tmp_path / "Patient.ndjson.gz"
    with gzip.open(data, "wt") as handle:
        handle.write('{"resourceType": "Patient", "id": "a"}\n\n{"resourceType": "Pat\n')
    view = load_view(VIEWS / "patient_flat.json")

    with pytest.raises(FhirInputError, match=r"Patient\.ndjson\.gz, line 3: not valid JSON"):
        run_view(view, [data], tmp_path / "p.parquet")
    assert list(tmp_path.iterdir()) == [data]


def test_auto_path_falls_back_and_says_why(tmp_path: Path) -> None:
    view = _view({"resource": "Patient", "select": [{"column": [
        {"name": "low", "path": "birthDate.lowBoundary()", "type": "date"}]}]})  # fmt: skip
    data = _ndjson(tmp_path / "p.ndjson", [{"resourceType": "Patient", "birthDate": "1970-06"}])

    summary = run_view(view, [data], tmp_path / "p.csv")

    assert summary.path == "reference"
    assert "lowBoundary" in summary.reason
    assert (tmp_path / "p.csv").read_text().splitlines() == ['"low"', '"1970-06-01"']


def test_evaluate_batches_streams_typed_arrow(synthea: list[dict[str, Any]]) -> None:
    view = load_view(VIEWS / "observation_flat.json")

    batches = list(evaluate_batches(view, iter(synthea)))

    assert batches[0].schema.field("value").type == "double"
    assert sum(b.num_rows for b in batches) == sum(
        r["resourceType"] == "Observation" for r in synthea
    )


def test_missing_input_is_named(tmp_path: Path) -> None:
    view = load_view(VIEWS / "patient_flat.json")

    with pytest.raises(FhirInputError, match=r"nope\.ndjson: file not found"):
        run_view(view, [tmp_path / "nope.ndjson"], tmp_path / "x.parquet")


def _view(raw: dict[str, Any]) -> ViewDefinition:
    from bmb.sources.fhir.viewdef import parse_view

    return parse_view(raw)


def test_file_batches_read_mixed_type_ndjson_leniently(
    tmp_path: Path, synthea: list[dict[str, Any]]
) -> None:
    view = load_view(VIEWS / "observation_flat.json")
    data = _ndjson(tmp_path / "everything.ndjson", synthea)

    rows = sum(b.num_rows for b in file_batches(view, [data], lenient=True))

    assert rows == sum(r["resourceType"] == "Observation" for r in synthea)


def test_mixed_type_ndjson_is_reread_leniently_and_the_summary_says_so(
    tmp_path: Path, synthea: list[dict[str, Any]]
) -> None:
    view = load_view(VIEWS / "patient_flat.json")
    data = _ndjson(tmp_path / "everything.ndjson", synthea)

    summary = run_view(view, [data], tmp_path / "p.parquet")

    assert "mix resource types" in summary.reason
    assert summary.rows == sum(r["resourceType"] == "Patient" for r in synthea)


def test_a_folder_reads_the_files_of_the_views_resource_type(
    tmp_path: Path, synthea: list[dict[str, Any]]
) -> None:
    view = load_view(VIEWS / "patient_flat.json")
    for rtype in ("Patient", "Observation"):
        _ndjson(tmp_path / f"{rtype}.ndjson", [r for r in synthea if r["resourceType"] == rtype])

    summary = run_view(view, [tmp_path], tmp_path / "out" / "p.parquet")

    assert summary.files == 1
    assert summary.rows == sum(r["resourceType"] == "Patient" for r in synthea)
