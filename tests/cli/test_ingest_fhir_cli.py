"""``bmb ingest`` on FHIR files: the report names unsupported types with their counts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bmb.cli.main import run
from tests.pipeline.fhirfiles import condition, patient, write_ndjson


def test_ingest_reports_fhir_batches_and_unsupported_types(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("BMB_LAKE", raising=False)
    monkeypatch.delenv("BMB_KEY_FILE", raising=False)
    lake = str(tmp_path / "lake")
    assert run(["init", lake]) == 0
    export = tmp_path / "export"
    export.mkdir()
    write_ndjson(export / "Patient.ndjson", [patient("p1", ssn="999-33-0001")])
    write_ndjson(
        export / "Other.ndjson",
        [condition("c1", "Patient/p1"), {"resourceType": "Claim", "id": "x"}],
    )
    capsys.readouterr()
    assert run(["ingest", str(export), "--lake", lake]) == 0
    out = capsys.readouterr().out
    assert "FHIR resources of types BMB does not map (control): Claim 1" in out
    assert run(["ingest", str(export), "--lake", lake, "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["batches"] == []
    assert len(again["skipped"]) == 2
