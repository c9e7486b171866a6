"""Ingestion of hand-made flow files: mapping, quarantine, accounting, idempotence."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bmb.domain import vocab
from bmb.engines.lake import open_lake
from bmb.lake.store import Lake
from bmb.pipeline.bootstrap import bootstrap
from bmb.pipeline.ingest import ingest
from tests.pipeline.flowfiles import fiscal_code, write

ROSSI = fiscal_code("Rossi", "Mario", "M", "1950-04-03")
BIANCHI = fiscal_code("Bianchi", "Anna", "F", "1938-11-20")


@pytest.fixture
def lake_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    lake, _ = Lake.create(tmp_path / "lake")
    bootstrap(lake)
    return tmp_path / "lake"


def _registry(cf: str, sex: str, birth: str, **extra: str) -> dict[str, str]:
    rec = {
        "codice_fiscale": cf,
        "tipo_identificativo": "0",
        "cognome": "X",
        "nome": "Y",
        "sesso": sex,
        "data_nascita": birth,
        "comune_nascita": "010025",
        "cittadinanza": "100",
        "comune_residenza": "010025",
        "asl": "103",
        "distretto": "009",
        "cf_medico": fiscal_code("Verdi", "Gino", "M", "1965-01-01"),
        "tipo_medico": "F",
        "data_inizio_assistenza": "20200101",
    }
    rec.update(extra)
    return rec


def _flows(tmp_path: Path) -> Path:
    d = tmp_path / "flows"
    d.mkdir()
    write(
        d,
        "registry",
        "202401",
        [
            _registry(ROSSI, "M", "19500403"),
            _registry(BIANCHI, "F", "19381120", data_fine_assistenza="20240310", motivo_fine="1"),
            _registry("RSSMRA50D03A388X", "M", "19500403"),  # wrong check character
        ],
    )
    write(
        d,
        "deaths",
        "202403",
        [
            {
                "id_scheda": "D1",
                "codice_fiscale": BIANCHI,
                "tipo_identificativo": "0",
                "data_decesso": "20240310",
                "causa_iniziale": "I21.9",
            },
            {
                "id_scheda": "D2",
                "codice_fiscale": ROSSI,
                "tipo_identificativo": "0",
                "data_decesso": "20240230",  # impossible date
                "causa_iniziale": "I21.9",
            },
        ],
    )
    return d


def test_ingest_maps_persons_periods_deaths_and_quarantines_bad_records(
    tmp_path: Path, lake_root: Path
) -> None:
    report = ingest(lake_root, [_flows(tmp_path)])
    assert [b.flow for b in report.batches] == ["registry", "deaths"]
    assert report.records_in == 5
    assert report.records_quarantined == 2
    with open_lake(lake_root, restricted=True) as e:
        persons = e.query("SELECT gender_concept_id, year_of_birth FROM person ORDER BY 2")
        assert persons.to_pylist() == [
            {"gender_concept_id": 8532, "year_of_birth": 1938},
            {"gender_concept_id": 8507, "year_of_birth": 1950},
        ]
        death = e.query("SELECT death_date, cause_source_value, death_type_concept_id FROM death")
        assert death.num_rows == 1
        assert str(death["death_date"][0]) == "2024-03-10"
        assert death["death_type_concept_id"][0].as_py() == 32815
        op = e.query("SELECT count(*) AS n FROM observation_period")["n"][0].as_py()
        assert op == 2
        q = e.query("SELECT layout, line_number, field, reason FROM landing.quarantine ORDER BY 1")
        assert q.to_pylist() == [
            {
                "layout": "deaths",
                "line_number": 2,
                "field": "data_decesso",
                "reason": "invalid_date",
            },
            {
                "layout": "registry",
                "line_number": 3,
                "field": "codice_fiscale",
                "reason": "invalid_fiscal_code",
            },
        ]


def test_ingesting_the_same_files_again_is_a_no_op(tmp_path: Path, lake_root: Path) -> None:
    flows = _flows(tmp_path)
    first = ingest(lake_root, [flows])
    again = ingest(lake_root, [flows])
    assert len(first.batches) == 2
    assert again.batches == []
    assert len(again.skipped) == 2


def test_no_fiscal_code_or_name_outside_the_landing_zone(tmp_path: Path, lake_root: Path) -> None:
    import pyarrow.parquet as pq

    ingest(lake_root, [_flows(tmp_path)])
    for path in (lake_root / "warehouse").rglob("*.parquet"):
        text = str(pq.read_table(path).to_pylist())
        assert ROSSI not in text
        assert BIANCHI not in text


def test_staged_records_keep_keyed_ids_and_no_identifier(
    tmp_path: Path, lake_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past staging, mappers see person and provider ids, never codes or names."""
    from bmb.domain.flows import FLOWS, LAYOUTS
    from bmb.domain.flows.layout import Identifier
    from bmb.pipeline import ingest as ingest_module
    from bmb.pipeline.batch import Batch

    seen: dict[str, tuple[list[str], str]] = {}

    def watching(flow: str, mapper: Callable[[Batch], None]) -> Callable[[Batch], None]:
        def run(b: Batch) -> None:
            for name in FLOWS[flow]:
                rel = b.con.sql(f"SELECT * FROM p_{name}")
                seen[name] = (rel.columns, str(rel.fetchall()))
            mapper(b)

        return run

    mappers = {f: watching(f, m) for f, m in ingest_module.MAPPERS.items()}
    monkeypatch.setattr(ingest_module, "MAPPERS", mappers)
    ingest(lake_root, [_flows(tmp_path)])
    assert set(seen) == {"registry", "deaths"}
    for name, (columns, rows) in seen.items():
        identifiers = {f.name for f in LAYOUTS[name].fields if f.identifier is not Identifier.NONE}
        assert identifiers, name
        assert not identifiers & set(columns), name
        assert "person_id" in columns
        assert ROSSI not in rows
        assert BIANCHI not in rows
    assert "cf_medico_provider_id" in seen["registry"][0]


def test_duckdb_spills_inside_the_restricted_landing_zone(
    tmp_path: Path, lake_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    import stat

    seen: list[tuple[bool, int]] = []

    class Watch:
        def start(self, task: str, total: float | None = None) -> None:
            pass

        def advance(self, task: str, amount: float = 1) -> None:
            spill = lake_root / "landing" / "spill"
            mode = stat.S_IMODE(os.stat(spill).st_mode) if spill.is_dir() else -1
            seen.append((spill.is_dir(), mode))

        def finish(self, task: str) -> None:
            pass

    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)  # DuckDB's default would be ./.tmp here
    report = ingest(lake_root, [_flows(tmp_path)], progress=Watch())
    assert report.records_in == 5
    assert seen
    assert all(s == (True, 0o700) for s in seen)
    assert not (lake_root / "landing" / "spill").exists()  # removed when done
    assert not (work / ".tmp").exists()


def test_a_resent_exemption_replaces_its_row_and_a_new_one_adds_one(
    tmp_path: Path, lake_root: Path
) -> None:
    # Exemptions arrive as yearly snapshots: a record sent again (here closed) must
    # replace the row it made, in a later run, never sit beside it.
    code = vocab.exemptions()[0].code
    registry = tmp_path / "registry"
    registry.mkdir()
    write(registry, "registry", "202401", [_registry(ROSSI, "M", "19500403")])

    def exemption(ident: str, end: str = "") -> dict[str, str]:
        return {
            "id_esenzione": ident,
            "codice_fiscale": ROSSI,
            "tipo_identificativo": "0",
            "codice_esenzione": code,
            "data_inizio": "20230105",
            "data_fine": end,
            "asl_rilascio": "103",
        }

    first, second = tmp_path / "y2024", tmp_path / "y2025"
    first.mkdir()
    second.mkdir()
    write(first, "exemptions", "202401", [exemption("E1"), exemption("E2")])
    write(second, "exemptions", "202501", [exemption("E1", "20241231"), exemption("E3")])
    ingest(lake_root, [registry, first])
    ingest(lake_root, [second])
    with open_lake(lake_root) as e:
        rows = e.query(
            "SELECT qualifier_source_value AS q FROM observation "
            f"WHERE observation_source_value = '{code}'"
        ).to_pylist()
    assert sorted(r["q"] for r in rows) == ["until 2024-12-31", "until open", "until open"]


def test_an_outpatient_visit_keeps_its_first_lines_doctor(tmp_path: Path, lake_root: Path) -> None:
    """Two lines of one visit naming different doctors: the visit's is line 01's, every run."""
    from bmb.pipeline.pseudonymize import provider_ids

    first = fiscal_code("Neri", "Ugo", "M", "1970-02-02")
    second = fiscal_code("Blu", "Eva", "F", "1975-03-03")
    code = vocab.outpatient_services()[0].code
    d = tmp_path / "flows"
    d.mkdir()
    key = {"regione": "070", "zona": "101", "struttura_accettante": "070001"}
    c1, c2 = [], []
    for line, doctor in (("02", second), ("01", first), ("03", second)):
        c1.append(
            {
                **key,
                "struttura_erogante": "070001",
                "tipo_prescrittore": "A",
                "cf_medico_erogatore": doctor,
                "sesso": "M",
                "data_nascita": "03041950",
                "codice_fiscale": ROSSI,
                "numero_ricetta": "R1",
                "progressivo_riga": line,
                "posizione_contabile": "1",
                "onere": "1",
                "id_record": f"ID{line}",
            }
        )
        c2.append(
            {
                **key,
                "numero_ricetta": "R1",
                "progressivo_riga": line,
                "data_erogazione": "05032024",
                "modalita_accesso": "10",
                "codice_prestazione": code,
                "quantita": "1",
            }
        )
    write(d, "outpatient_c1", "202403", c1)
    write(d, "outpatient_c2", "202403", c2)
    report = ingest(lake_root, [d])
    assert report.records_quarantined == 0
    doctor_id = provider_ids(Lake.open(lake_root).key(), [first])["provider_id"][0].as_py()
    with open_lake(lake_root) as e:
        visits = e.query("SELECT provider_id FROM visit_occurrence").to_pylist()
    assert visits == [{"provider_id": doctor_id}]
