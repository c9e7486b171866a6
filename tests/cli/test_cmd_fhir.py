"""``bmb fhir``: the conformance report and view runs through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from bmb.cli.main import run

PATIENTS = [
    {"resourceType": "Patient", "id": "p1", "gender": "female", "name": [{"family": "Rossi"}]},
    {"resourceType": "Patient", "id": "p2", "gender": "male"},
]
VIEW = {
    "resource": "Patient",
    "select": [
        {"column": [{"name": "id", "path": "getResourceKey()", "type": "id"}]},
        {"forEachOrNull": "name", "column": [{"name": "family", "path": "family"}]},
    ],
}


def _write(tmp_path: Path, view: dict[str, object], lines: list[str]) -> tuple[Path, Path]:
    view_file = tmp_path / "view.json"
    view_file.write_text(json.dumps(view))
    data = tmp_path / "Patient.ndjson"
    data.write_text("\n".join(lines) + "\n")
    return view_file, data


def test_conformance_writes_the_suites_report_format(
    tmp_path: Path, fixtures_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "test-results.json"

    code = run(["fhir", "conformance", "--suite", str(fixtures_dir / "sql-on-fhir-v2"),
                "--out", str(out)])  # fmt: skip

    assert code == 0
    report = json.loads(out.read_text())
    suite_files = sorted(p.name for p in (fixtures_dir / "sql-on-fhir-v2").glob("*.json"))
    assert sorted(report) == suite_files
    tests = [t for f in report.values() for t in f["tests"]]
    assert len(tests) == 134
    assert all(isinstance(t["name"], str) and t["result"]["passed"] is True for t in tests)
    assert "shareable 123/123" in capsys.readouterr().out


def test_view_writes_parquet_with_typed_columns(tmp_path: Path) -> None:
    view_file, data = _write(tmp_path, VIEW, [json.dumps(p) for p in PATIENTS])
    out = tmp_path / "patients.parquet"

    code = run(["fhir", "view", str(view_file), str(data), "--out", str(out)])

    assert code == 0
    table = pq.read_table(out)
    assert table.column_names == ["id", "family"]
    assert sorted(table.to_pylist(), key=lambda r: r["id"]) == [
        {"id": "p1", "family": "Rossi"},
        {"id": "p2", "family": None},
    ]


@pytest.mark.parametrize("path", ["compiled", "reference"])
def test_view_names_file_and_line_of_a_malformed_record(
    tmp_path: Path, path: str, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [json.dumps(PATIENTS[0]), '{"resourceType": "Patient", "id": ', json.dumps(PATIENTS[1])]
    view_file, data = _write(tmp_path, VIEW, lines)
    out = tmp_path / "out.parquet"

    code = run(["fhir", "view", str(view_file), str(data), "--out", str(out), "--path", path])

    assert code == 1
    err = capsys.readouterr().err
    assert f"{data}, line 2: not valid JSON" in err
    assert not out.exists()


def test_view_refuses_compiled_path_for_a_view_the_compiler_declines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    view = {"resource": "Patient", "select": [{"repeat": ["link"], "column": [
        {"name": "t", "path": "type"}]}]}  # fmt: skip
    view_file, data = _write(tmp_path, view, [json.dumps(p) for p in PATIENTS])

    code = run(["fhir", "view", str(view_file), str(data), "--out", str(tmp_path / "o.csv"),
                "--path", "compiled"])  # fmt: skip

    assert code == 2
    assert "declines it: repeat" in capsys.readouterr().err


def test_view_reports_an_invalid_view_by_its_element(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    view = {"resource": "Patient", "select": [{"column": [{"name": "x", "path": "name.("}]}]}
    view_file, data = _write(tmp_path, view, [json.dumps(p) for p in PATIENTS])

    code = run(["fhir", "view", str(view_file), str(data), "--out", str(tmp_path / "o.csv")])

    assert code == 2
    assert "select[0].column[0].path" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["view", "conformance"])
def test_fhir_commands_have_an_example_in_help(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["fhir", command, "--help"]) == 0
    assert "Example: bmb fhir " + command in capsys.readouterr().out.replace("\n", " ")
