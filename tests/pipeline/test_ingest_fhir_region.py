"""The synthetic region's flows and FHIR export together: one person per resident.

The region writes the same people twice, in the flows (registry, SDO, pharmacy, ...)
and as FHIR Patients with the same fiscal codes. Ingested together, every Patient
must land on the registry's person: the person table holds exactly the residents,
and the FHIR care points at them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bmb.domain.identity import person_id
from bmb.engines.lake import open_lake
from bmb.lake.store import Lake
from bmb.pipeline.bootstrap import bootstrap
from bmb.pipeline.ingest import IngestReport, ingest
from bmb.synth.generator import SynthOptions, generate


@dataclass
class RegionLake:
    root: Path
    region: Path
    key: bytes
    report: IngestReport

    def query(self, sql: str) -> list[dict[str, Any]]:
        with open_lake(self.root) as e:
            rows: list[dict[str, Any]] = e.query(sql).to_pylist()
            return rows

    def lines(self, name: str) -> list[dict[str, Any]]:
        text = (self.region / "fhir" / name).read_text(encoding="utf-8")
        return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegionLake]:
    base = tmp_path_factory.mktemp("region-fhir")
    mp = pytest.MonkeyPatch()
    mp.setenv("XDG_CONFIG_HOME", str(base / "config"))
    out = base / "region"
    generate(
        SynthOptions(
            persons=1500,
            first_year=2024,
            last_year=2024,
            seed=1,
            out=out,
            formats=("flows", "fhir"),
        )
    )
    lake, _ = Lake.create(base / "lake")
    bootstrap(lake)
    report = ingest(base / "lake", [out / "flows", out / "fhir"])
    yield RegionLake(base / "lake", out, lake.key(), report)
    mp.undo()


def _residents(region: Path) -> set[str]:
    codes: set[str] = set()
    for path in (region / "flows" / "registry").glob("*.txt"):
        codes |= {line.split(";", 1)[0] for line in path.read_text().splitlines() if line}
    return codes


def test_flows_and_fhir_give_one_person_per_resident(region: RegionLake) -> None:
    residents = {person_id(region.key, cf) for cf in _residents(region.region)}
    persons = {r["person_id"] for r in region.query("SELECT person_id FROM person")}
    assert persons == residents
    patients = region.lines("Patient.ndjson")
    assert len(patients) == len(residents) > 1000
    on_registry = {person_id(region.key, p["identifier"][0]["value"]) for p in patients}
    assert on_registry == residents  # every Patient is the registry's person


def test_fhir_batch_comes_after_the_flows_and_reconciles(region: RegionLake) -> None:
    assert [b.flow for b in region.report.batches][-1] == "fhir"
    fhir = region.report.batches[-1]
    assert fhir.records_quarantined == 0
    assert fhir.unsupported == {}
    assert fhir.rows_out.get("person", 0) == 0  # no new person
    rows = region.query(
        "SELECT drug_type_concept_id AS t, count(*) AS n FROM drug_exposure GROUP BY 1"
    )
    by_type = {r["t"]: r["n"] for r in rows}
    # the same dispensings, from Flusso D (pharmacy claim) and from the EHR
    assert by_type[32825] == len(region.lines("MedicationDispense.ndjson")) == by_type[32869]
    ehr_visits = region.query(
        "SELECT count(*) AS n FROM visit_occurrence WHERE visit_type_concept_id = 32817"
    )
    assert ehr_visits == [{"n": len(region.lines("Encounter.ndjson"))}]


def test_residents_keep_their_registry_periods_and_one_death(region: RegionLake) -> None:
    types = region.query("SELECT DISTINCT period_type_concept_id AS t FROM observation_period")
    assert types == [{"t": 32879}]  # no EHR span for a person the registry covers
    dupes = region.query(
        "SELECT count(*) AS n FROM (SELECT person_id FROM death GROUP BY 1 HAVING count(*) > 1)"
    )
    assert dupes == [{"n": 0}]
    deceased = sum("deceasedDateTime" in p for p in region.lines("Patient.ndjson"))
    assert region.query("SELECT count(*) AS n FROM death") == [{"n": deceased}]
