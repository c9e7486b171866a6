"""bmb init / ingest / status / sql from the command line."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from bmb.cli.main import run
from tests.pipeline.flowfiles import fiscal_code, write


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("BMB_LAKE", raising=False)
    monkeypatch.delenv("BMB_KEY_FILE", raising=False)
    return tmp_path


NERI = fiscal_code("Neri", "Ugo", "M", "1931-02-11")


def _deaths(d: Path) -> Path:
    d.mkdir()
    write(
        d,
        "registry",
        "202401",
        [
            {
                "codice_fiscale": NERI,
                "tipo_identificativo": "0",
                "sesso": "M",
                "data_nascita": "19310211",
                "comune_nascita": "010025",
                "cittadinanza": "100",
                "comune_residenza": "010025",
                "asl": "103",
                "distretto": "009",
                "data_inizio_assistenza": "19310211",
            }
        ],
    )
    write(
        d,
        "deaths",
        "202405",
        [
            {
                "id_scheda": "D9",
                "codice_fiscale": NERI,
                "tipo_identificativo": "0",
                "data_decesso": "20240501",
                "causa_iniziale": "I21.9",
            }
        ],
    )
    return d


def test_init_ingest_status_sql_round_trip(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(env)
    lake = "lake"  # relative, as people type it
    assert run(["init", lake]) == 0
    capsys.readouterr()
    flows = _deaths(env / "flows")
    assert run(["ingest", str(flows), "--lake", lake, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [b["records_in"] for b in report["batches"]] == [1, 1]
    assert run(["ingest", str(flows), "--lake", lake, "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["batches"] == []
    assert len(again["skipped"]) == 2
    assert run(["status", "--lake", lake, "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    rows = {t["table"]: t["rows"] for t in status["tables"]}
    assert rows["cdm.death"] == 1
    assert rows["cdm.person"] == 1
    out = env / "deaths.csv"
    assert (
        run(["sql", "SELECT cause_source_value FROM death", "--lake", lake, "--out", str(out)]) == 0
    )
    with out.open() as fh:
        assert list(csv.DictReader(fh)) == [{"cause_source_value": "I21.9"}]


def test_init_twice_is_refused_with_exit_code_2(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lake = str(env / "lake")
    assert run(["init", lake]) == 0
    assert run(["init", lake]) == 2
    assert "already a BMB lake" in capsys.readouterr().err


def test_ingest_without_the_key_fails_and_says_why(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lake = str(env / "lake")
    assert run(["init", lake]) == 0
    for key in (env / "config").rglob("*.key"):
        key.unlink()
    assert run(["ingest", str(_deaths(env / "flows")), "--lake", lake]) == 1
    err = capsys.readouterr().err
    assert "key not found" in err
    assert "Traceback" not in err


def test_sql_error_is_one_line_and_landing_needs_restricted(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lake = str(env / "lake")
    assert run(["init", lake]) == 0
    capsys.readouterr()
    assert run(["sql", "SELECT * FROM landing.quarantine", "--lake", lake]) == 2
    assert "the query failed" in capsys.readouterr().err
    assert (
        run(["sql", "SELECT count(*) FROM landing.quarantine", "--lake", lake, "--restricted"]) == 0
    )


def test_status_on_a_directory_that_is_not_a_lake(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["status", "--lake", str(env)]) == 2
    assert "is not a BMB lake" in capsys.readouterr().err
