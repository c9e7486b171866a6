"""Synthea's FHIR R4 transaction Bundles into the lake: everything reconciles.

The expected numbers are counted here from the Bundles with plain ``json``, not with
BMB's reader: every Patient is a person, and per person the encounters, conditions,
observations (one row per component of a panel), medications and procedures in the
CDM equal the resources in the Bundles. Synthea identifies patients by social
security number (the identifier rule ranks it first), so the test can compute each
person's id itself.
"""

from __future__ import annotations

import gzip
import json
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from bmb.domain.identity import fhir_identifier, id_from_pseudonym, pseudonym
from bmb.engines.lake import open_lake
from bmb.lake.store import Lake
from bmb.pipeline.athena import load_vocabulary
from bmb.pipeline.bootstrap import bootstrap
from bmb.pipeline.ingest import IngestReport, ingest

SSN = "http://hl7.org/fhir/sid/us-ssn"
DRUG_TYPES = ("MedicationRequest", "MedicationDispense", "MedicationStatement", "Immunization")
MAPPED = {
    "Patient",
    "Practitioner",
    "Organization",
    "Encounter",
    "Condition",
    "Observation",
    "Procedure",
    "AllergyIntolerance",
    "Medication",
    *DRUG_TYPES,
}


@dataclass
class Expected:
    """What the Bundles hold, counted with plain json."""

    files: dict[str, int] = field(default_factory=dict)  # file -> entries
    types: Counter[str] = field(default_factory=Counter)
    per_person: dict[str, Counter[str]] = field(default_factory=dict)  # ssn -> table -> n
    secrets: set[str] = field(default_factory=set)  # names and identifier values
    deceased: int = 0


def _subject(resource: dict[str, Any]) -> str:
    ref = resource.get("subject") or resource.get("patient") or {}
    return str(ref.get("reference", ""))


def count_bundles(folder: Path) -> Expected:
    exp = Expected()
    for path in sorted(folder.glob("*.json.gz")):
        bundle = json.loads(gzip.decompress(path.read_bytes()))
        entries = bundle["entry"]
        exp.files[path.name] = len(entries)
        ssn_of: dict[str, str] = {}  # fullUrl -> ssn
        for e in entries:
            r = e["resource"]
            exp.types[r["resourceType"]] += 1
            if r["resourceType"] == "Patient":
                ssn = next(i["value"] for i in r["identifier"] if i.get("system") == SSN)
                ssn_of[e["fullUrl"]] = ssn
                exp.per_person[ssn] = Counter()
                exp.deceased += "deceasedDateTime" in r
                for n in r.get("name", []):
                    exp.secrets.update([n["family"], *n.get("given", [])])
                exp.secrets.update(i["value"] for i in r["identifier"])
                exp.secrets.add(r["id"])
        for e in entries:
            r = e["resource"]
            rtype = r["resourceType"]
            table = {
                "Encounter": "visit_occurrence",
                "Condition": "condition_occurrence",
                "Procedure": "procedure_occurrence",
                "Observation": "observation_rows",
                "AllergyIntolerance": "observation_rows",
            }.get(rtype, "drug_exposure" if rtype in DRUG_TYPES else None)
            if table is None:
                continue
            rows = max(1, len(r.get("component", []))) if rtype == "Observation" else 1
            exp.per_person[ssn_of[_subject(r)]][table] += rows
    return exp


@dataclass
class SyntheaLake:
    root: Path
    key: bytes
    report: IngestReport
    again: IngestReport
    expected: Expected

    def query(self, sql: str) -> list[dict[str, Any]]:
        with open_lake(self.root, restricted=True) as e:
            rows: list[dict[str, Any]] = e.query(sql).to_pylist()
            return rows

    def person_id(self, ssn: str) -> int:
        return id_from_pseudonym(pseudonym(self.key, fhir_identifier(SSN, ssn)))


@pytest.fixture(scope="module")
def synthea(tmp_path_factory: pytest.TempPathFactory, fixtures_dir: Path) -> Iterator[SyntheaLake]:
    base = tmp_path_factory.mktemp("synthea")
    mp = pytest.MonkeyPatch()
    mp.setenv("XDG_CONFIG_HOME", str(base / "config"))
    folder = fixtures_dir / "synthea-fhir-r4"
    lake, _ = Lake.create(base / "lake")
    bootstrap(lake)
    report = ingest(base / "lake", [folder])
    again = ingest(base / "lake", [folder])
    yield SyntheaLake(base / "lake", lake.key(), report, again, count_bundles(folder))
    mp.undo()


def test_every_patient_becomes_a_person(synthea: SyntheaLake) -> None:
    persons = {r["person_id"] for r in synthea.query("SELECT person_id FROM person")}
    assert len(persons) == synthea.expected.types["Patient"] == len(synthea.expected.per_person)
    assert persons == {synthea.person_id(ssn) for ssn in synthea.expected.per_person}


def test_clinical_rows_reconcile_with_the_bundles_person_by_person(synthea: SyntheaLake) -> None:
    got: dict[int, Counter[str]] = {}
    for table in (
        "visit_occurrence",
        "condition_occurrence",
        "procedure_occurrence",
        "drug_exposure",
    ):
        for r in synthea.query(f"SELECT person_id, count(*) AS n FROM {table} GROUP BY 1"):
            got.setdefault(r["person_id"], Counter())[table] = r["n"]
    for r in synthea.query(
        "SELECT person_id, count(*) AS n FROM (SELECT person_id FROM measurement "
        "UNION ALL SELECT person_id FROM observation) GROUP BY 1"
    ):
        got.setdefault(r["person_id"], Counter())["observation_rows"] = r["n"]
    expected = {synthea.person_id(s): c for s, c in synthea.expected.per_person.items()}
    assert got == {p: c for p, c in expected.items() if c}
    totals = sum(expected.values(), Counter())
    assert totals["visit_occurrence"] == synthea.expected.types["Encounter"] > 2000
    assert totals["drug_exposure"] == sum(synthea.expected.types[t] for t in DRUG_TYPES)


def test_every_record_is_accounted_for_in_the_ledger(synthea: SyntheaLake) -> None:
    (batch,) = synthea.report.batches
    assert batch.records_quarantined == 0
    rows = synthea.query("SELECT files FROM bmb.ingestion_ledger WHERE kind = 'ingest'")
    files = {f["name"]: f for f in json.loads(rows[0]["files"])}
    assert {n: f["records_in"] for n, f in files.items()} == {
        n: entries + 1
        for n, entries in synthea.expected.files.items()  # + the Bundle
    }
    for f in files.values():
        assert f["records_in"] == f["mapped"] + f["control"] + f["quarantined"]


def test_unsupported_types_are_reported_with_their_counts(synthea: SyntheaLake) -> None:
    unsupported = {t: n for t, n in synthea.expected.types.items() if t not in MAPPED}
    assert unsupported  # Claim, ExplanationOfBenefit, CarePlan, ...
    assert synthea.report.unsupported_resources == dict(
        sorted(unsupported.items(), key=lambda kv: (-kv[1], kv[0]))
    )


def test_deaths_and_one_observation_period_per_person(synthea: SyntheaLake) -> None:
    assert synthea.query("SELECT count(*) AS n FROM death") == [{"n": synthea.expected.deceased}]
    outside = synthea.query(
        "SELECT count(*) AS n FROM visit_occurrence v LEFT JOIN observation_period p "
        "ON p.person_id = v.person_id AND v.visit_start_date BETWEEN "
        "p.observation_period_start_date AND p.observation_period_end_date "
        "WHERE p.person_id IS NULL"
    )
    assert outside == [{"n": 0}]
    per_person = synthea.query(
        "SELECT count(*) AS n, count(DISTINCT person_id) AS persons FROM observation_period"
    )
    assert per_person == [{"n": 95, "persons": 95}]


def test_running_again_is_a_no_op(synthea: SyntheaLake) -> None:
    assert synthea.again.batches == []
    assert len(synthea.again.skipped) == len(synthea.expected.files)


def test_no_name_or_identifier_leaves_the_landing_zone(synthea: SyntheaLake) -> None:
    batches = {
        r["batch_id"]
        for r in synthea.query("SELECT batch_id FROM bmb.ingestion_ledger WHERE kind = 'ingest'")
    }
    secrets = {s for s in synthea.expected.secrets if len(s) >= 6}
    assert len(secrets) > 300
    checked = 0
    for path in (synthea.root / "warehouse").rglob("*.parquet"):
        if path.parent.name.removeprefix("batch=") not in batches:
            continue
        for column in pq.read_table(path).columns:
            values = {str(v) for v in column.to_pylist() if isinstance(v, str)}
            leaked = values & secrets
            assert not leaked, f"{sorted(leaked)[:3]} in {path}"
            text = "\n".join(values)
            assert not [s for s in secrets if s in text], path
        checked += 1
    assert checked > 10


def test_snomed_and_rxnorm_codes_are_kept_and_mapped_when_the_vocabulary_loads(
    tmp_path: Path, fixtures_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    bundles = tmp_path / "bundles"
    bundles.mkdir()
    picked = 0
    for path in sorted((fixtures_dir / "synthea-fhir-r4").glob("*.json.gz")):
        data = path.read_bytes()
        text = gzip.decompress(data)
        if picked < 6 and (b'"44054006"' in text or b'"310965"' in text):
            (bundles / path.name).write_bytes(data)
            picked += 1
    lake, _ = Lake.create(tmp_path / "lake")
    bootstrap(lake)
    ingest(tmp_path / "lake", [bundles])
    athena = tmp_path / "athena"
    athena.mkdir()
    with zipfile.ZipFile(fixtures_dir / "eunomia" / "Synthea27Nj_5.4.zip") as z:
        for name in z.namelist():
            if Path(name).name.lower() in ("concept.csv", "concept_relationship.csv"):
                (athena / Path(name).name).write_bytes(z.read(name))
    query = (
        "SELECT {src}_source_value AS code, {src}_concept_id AS concept FROM {table} "
        "WHERE {src}_source_value IN ({codes})"
    )
    cond = query.format(src="condition", table="condition_occurrence", codes="'44054006'")
    drug = query.format(src="drug", table="drug_exposure", codes="'310965'")
    with open_lake(tmp_path / "lake") as e:
        before = e.query(f"{cond} UNION ALL {drug}").to_pylist()
    assert before
    assert all(r["concept"] >= 2_000_000_000 for r in before)
    load_vocabulary(tmp_path / "lake", athena)
    with open_lake(tmp_path / "lake") as e:
        after = {(r["code"], r["concept"]) for r in e.query(f"{cond} UNION ALL {drug}").to_pylist()}
    # OHDSI's Type 2 diabetes mellitus and ibuprofen 200 MG Oral Tablet
    assert after == {
        (r["code"], {"44054006": 201826, "310965": 19078461}[r["code"]]) for r in before
    }
