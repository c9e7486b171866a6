"""Loading an OHDSI vocabulary re-maps the lake's codes to OHDSI concepts.

The OHDSI vocabulary shard of Eunomia's Synthea27Nj database stands in for an Athena
download (comma CSV); it has LOINC and UCUM, so a creatinine result ingested with BMB's
local LOINC concept must end up on OHDSI's concept 3016723 with unit 8840 (mg/dL).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from bmb.engines.lake import open_lake
from bmb.lake.store import Lake
from bmb.pipeline.athena import load_vocabulary
from bmb.pipeline.bootstrap import bootstrap
from bmb.pipeline.ingest import ingest
from tests.pipeline.flowfiles import fiscal_code, write

CF = fiscal_code("Gialli", "Rita", "F", "1950-06-01")


@pytest.fixture
def shard(tmp_path: Path, fixtures_dir: Path) -> Path:
    out = tmp_path / "athena"
    with zipfile.ZipFile(fixtures_dir / "eunomia" / "Synthea27Nj_5.4.zip") as z:
        for name in z.namelist():
            base = Path(name).name
            if base.lower() in ("concept.csv", "concept_relationship.csv", "vocabulary.csv"):
                out.mkdir(exist_ok=True)
                (out / base).write_bytes(z.read(name))
    return out


def test_vocab_load_moves_loinc_results_to_ohdsi_concepts(
    tmp_path: Path, shard: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    lake, _ = Lake.create(tmp_path / "lake")
    bootstrap(lake)
    flows = tmp_path / "flows"
    flows.mkdir()
    write(
        flows,
        "registry",
        "202401",
        [
            {
                "codice_fiscale": CF,
                "tipo_identificativo": "0",
                "sesso": "F",
                "data_nascita": "19500601",
                "comune_nascita": "010025",
                "cittadinanza": "100",
                "comune_residenza": "010025",
                "asl": "103",
                "distretto": "009",
                "data_inizio_assistenza": "19500601",
            }
        ],
    )
    write(
        flows,
        "labs",
        "202403",
        [
            {
                "id_risultato": "L1",
                "codice_fiscale": CF,
                "tipo_identificativo": "0",
                "codice_laboratorio": "07010100",
                "data_prelievo": "20240305",
                "codice_loinc": "2160-0",
                "valore": "1.4",
                "unita": "mg/dL",
            }
        ],
    )
    ingest(tmp_path / "lake", [flows])
    with open_lake(tmp_path / "lake") as e:
        before = e.query("SELECT measurement_concept_id AS c FROM measurement")["c"][0].as_py()
    assert before >= 2_000_000_000  # a local LOINC concept

    report = load_vocabulary(tmp_path / "lake", shard)

    assert report.loaded["concept"] > 2000
    assert report.remapped["measurement"] == 1
    with open_lake(tmp_path / "lake") as e:
        row = e.query(
            "SELECT measurement_concept_id, measurement_source_concept_id, unit_concept_id "
            "FROM measurement"
        ).to_pylist()[0]
        assert row == {
            "measurement_concept_id": 3016723,
            "measurement_source_concept_id": 3016723,
            "unit_concept_id": 8840,
        }
        # codes OHDSI lacks keep their local concepts; the local LOINC concept is gone
        left = e.query(
            "SELECT count(*) FILTER (vocabulary_id = 'AIC') AS aic, "
            "count(*) FILTER (vocabulary_id = 'LOINC' AND concept_code = '2160-0') AS loinc "
            "FROM concept"
        ).to_pylist()[0]
        assert left["aic"] > 10
        assert left["loinc"] == 1
        assert e.snapshot.kind == "vocabulary"


def test_vocab_load_refuses_a_folder_without_concepts(tmp_path: Path) -> None:
    from bmb.domain.errors import UsageError

    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match=r"no CONCEPT\.csv"):
        load_vocabulary(tmp_path / "lake", tmp_path / "empty")
