"""FHIR ingestion across batches and runs: what one batch leaves for the next.

A lake takes runs one after the other: the registry and Patients, then care naming
them by logical id and by fiscal code, an update, the same files again, two exports
with the same file names, and Bundles of each kind.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bmb.domain.identity import fhir_identifier, id_from_pseudonym, person_id, pseudonym
from bmb.lake.store import Lake
from bmb.pipeline.bootstrap import bootstrap
from bmb.pipeline.ingest import IngestReport, ingest
from tests.pipeline.fhirfiles import (
    CF_SYSTEM,
    SSN_SYSTEM,
    Ingested,
    bundle,
    observation,
    patient,
    write_json,
    write_ndjson,
)
from tests.pipeline.flowfiles import fiscal_code, write

CF_RESIDENT = fiscal_code("Rossi", "Mario", "M", "1950-04-03")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Ingested, list[IngestReport]]]:
    """Run 1: registry + Patients; 2: care naming them; 3: an update; 4: run 3 again."""
    base = tmp_path_factory.mktemp("fhir-runs")
    mp = pytest.MonkeyPatch()
    mp.setenv("XDG_CONFIG_HOME", str(base / "config"))
    lake, _ = Lake.create(base / "lake")
    bootstrap(lake)
    root = base / "lake"
    one = base / "one"
    one.mkdir()
    write(
        one,
        "registry",
        "202401",
        [
            {
                "codice_fiscale": CF_RESIDENT,
                "tipo_identificativo": "0",
                "sesso": "M",
                "data_nascita": "19500403",
                "comune_nascita": "010025",
                "cittadinanza": "100",
                "comune_residenza": "010025",
                "asl": "103",
                "distretto": "009",
                "data_inizio_assistenza": "20200101",
            }
        ],
    )
    write_ndjson(one / "Patient.ndjson", [patient("p1", ssn="999-22-0001")])
    reports = [ingest(root, [one])]
    two = base / "two"
    two.mkdir()
    write_ndjson(
        two / "Observation.ndjson",
        [
            observation("o1", "Patient/p1", 5.4),
            observation("o2", f"Patient?identifier={CF_SYSTEM}|{CF_RESIDENT}", 7.0),
        ],
    )
    reports.append(ingest(root, [two]))
    three = base / "three"
    three.mkdir()
    write_ndjson(three / "Observation.ndjson", [observation("o1", "Patient/p1", 6.1)])
    reports.append(ingest(root, [three]))
    reports.append(ingest(root, [three]))
    exports = [base / "export1", base / "export2", base / "copy"]
    for i, folder in enumerate(exports[:2]):
        folder.mkdir()
        write_ndjson(folder / "Observation.ndjson", [observation(f"x{i}", "Patient/p1", 8.0 + i)])
    exports[2].mkdir()
    (exports[2] / "Observation.ndjson").write_bytes(
        (exports[0] / "Observation.ndjson").read_bytes()
    )
    reports.append(ingest(root, exports))
    kinds = base / "kinds"
    kinds.mkdir()
    write_json(
        kinds / "collection.json",
        bundle([observation("k1", "Patient/p1", 11.0)], "collection", urn=False),
    )
    write_json(kinds / "batch.json.gz", bundle([observation("k2", "Patient/p1", 12.0)], "batch"))
    write_json(kinds / "single.json", observation("k3", "Patient/p1", 13.0))
    reports.append(ingest(root, [kinds]))
    yield Ingested(root, lake.key(), reports[-1]), reports
    mp.undo()


def test_a_patient_of_an_earlier_batch_is_found_by_its_logical_id(
    runs: tuple[Ingested, list[IngestReport]],
) -> None:
    ing, reports = runs
    assert reports[1].records_quarantined == 0
    p1 = id_from_pseudonym(pseudonym(ing.key, fhir_identifier(SSN_SYSTEM, "999-22-0001")))
    rows = ing.query(
        f"SELECT count(*) AS n FROM measurement WHERE person_id = {p1} AND value_as_number < 8"
    )
    assert rows == [{"n": 1}]
    keys = ing.bmb_table("fhir_key")
    assert [k["resource_type"] for k in keys] == ["Patient"]
    assert "p1" not in keys[0]["key_hash"]
    assert len(keys[0]["key_hash"]) == 64


def test_a_conditional_reference_by_fiscal_code_finds_the_registry_person(
    runs: tuple[Ingested, list[IngestReport]],
) -> None:
    ing, _ = runs
    resident = person_id(ing.key, CF_RESIDENT)
    rows = ing.query(f"SELECT value_as_number FROM measurement WHERE person_id = {resident}")
    assert rows == [{"value_as_number": 7.0}]
    assert ing.query("SELECT count(*) AS n FROM person") == [{"n": 2}]


def test_a_resource_sent_again_replaces_its_row(
    runs: tuple[Ingested, list[IngestReport]],
) -> None:
    ing, reports = runs
    assert len(reports[2].batches) == 1
    rows = ing.query("SELECT value_as_number FROM measurement WHERE value_as_number < 8 ORDER BY 1")
    assert rows == [{"value_as_number": 6.1}, {"value_as_number": 7.0}]


def test_ingesting_the_same_fhir_files_again_is_a_no_op(
    runs: tuple[Ingested, list[IngestReport]],
) -> None:
    _, reports = runs
    assert reports[3].batches == []
    assert len(reports[3].skipped) == 1


def test_two_exports_with_the_same_file_names_go_in_separate_batches(
    runs: tuple[Ingested, list[IngestReport]],
) -> None:
    ing, reports = runs
    assert [b.flow for b in reports[4].batches] == ["fhir", "fhir"]
    # the copy and export1 hold the same bytes: one of them lands
    assert [Path(p).parent.name for p in reports[4].skipped] in (["copy"], ["export1"])
    rows = ing.query("SELECT value_as_number FROM measurement WHERE value_as_number IN (8, 9)")
    assert sorted(r["value_as_number"] for r in rows) == [8.0, 9.0]


def test_collection_and_batch_bundles_and_single_resources_are_read(
    runs: tuple[Ingested, list[IngestReport]],
) -> None:
    ing, reports = runs
    (batch,) = reports[5].batches
    assert (batch.records_in, batch.records_control, batch.records_quarantined) == (5, 2, 0)
    rows = ing.query("SELECT value_as_number FROM measurement WHERE value_as_number > 10")
    assert sorted(r["value_as_number"] for r in rows) == [11.0, 12.0, 13.0]


def test_a_fhir_only_person_gets_an_observation_period_covering_their_events(
    runs: tuple[Ingested, list[IngestReport]],
) -> None:
    ing, _ = runs
    p1 = id_from_pseudonym(pseudonym(ing.key, fhir_identifier(SSN_SYSTEM, "999-22-0001")))
    periods = ing.query(
        "SELECT observation_period_start_date AS s, observation_period_end_date AS e, "
        f"period_type_concept_id AS t FROM observation_period WHERE person_id = {p1}"
    )
    assert [(str(p["s"]), str(p["e"]), p["t"]) for p in periods] == [
        ("2024-03-01", "2024-03-01", 32817)
    ]
