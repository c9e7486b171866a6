"""An existing OMOP CDM into the lake (Eunomia), and the lake's CDM out to PostgreSQL."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from bmb.cli.main import run
from bmb.engines.lake import open_lake


@pytest.fixture
def eunomia_lake(tmp_path: Path, fixtures_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    lake = tmp_path / "lake"
    assert run(["init", str(lake)]) == 0
    assert (
        run(["import-cdm", str(fixtures_dir / "eunomia" / "GiBleed_5.3"), "--lake", str(lake)]) == 0
    )
    return lake


def test_import_cdm_loads_eunomia_row_counts(eunomia_lake: Path, fixtures_dir: Path) -> None:
    expected = json.loads((fixtures_dir / "eunomia" / "GiBleed_5.3_row_counts.json").read_text())
    with open_lake(eunomia_lake) as e:
        for table in ("person", "condition_occurrence", "drug_exposure", "visit_occurrence"):
            n = e.query(f"SELECT count(*) AS n FROM {table}")["n"][0].as_py()
            assert n == expected[table]["rows"], table
        # imported OHDSI concepts and BMB's local ones live side by side
        kinds = e.query(
            "SELECT count(*) FILTER (concept_id < 2000000000) AS ohdsi, "
            "count(*) FILTER (concept_id >= 2000000000) AS local FROM concept"
        ).to_pylist()[0]
        assert kinds["ohdsi"] >= expected["concept"]["rows"] - 20
        assert kinds["local"] > 10_000
        assert e.snapshot.kind == "import"


@pytest.mark.postgres
def test_export_postgres_writes_the_cdm_with_ohdsi_indexes(eunomia_lake: Path) -> None:
    psycopg = pytest.importorskip("psycopg")
    schema = f"bmb_export_{uuid.uuid4().hex[:8]}"
    dsn = "postgresql://postgres@127.0.0.1:5432/test"
    try:
        assert (
            run(
                [
                    "export",
                    "postgres",
                    "--dsn",
                    dsn,
                    "--schema",
                    schema,
                    "--lake",
                    str(eunomia_lake),
                ]
            )
            == 0
        )
        with psycopg.connect(dsn) as conn:
            n = conn.execute(f"SELECT count(*) FROM {schema}.person").fetchone()
            assert n is not None
            assert n[0] == 2694
            idx = conn.execute(
                "SELECT count(*) FROM pg_indexes WHERE schemaname = %s", (schema,)
            ).fetchone()
            assert idx is not None
            assert idx[0] > 40
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
