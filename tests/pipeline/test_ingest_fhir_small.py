"""FHIR ingestion of hand-made resources: each mapping, check and reference rule.

One lake takes one mixed run (Bulk NDJSON, a gzipped transaction Bundle, a broken
file, a text file); a second lake takes runs one after the other, for what must hold
across batches (logical ids remembered, updates, re-runs, the registry's persons).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from bmb.domain.identity import fhir_identifier, id_from_pseudonym, person_id, pseudonym
from bmb.engines.lake import open_lake
from bmb.lake.store import Lake
from bmb.pipeline.bootstrap import bootstrap
from bmb.pipeline.ingest import IngestReport, ingest
from tests.pipeline.fhirfiles import (
    CF_SYSTEM,
    SSN_SYSTEM,
    bundle,
    condition,
    encounter,
    observation,
    patient,
    write_json,
    write_ndjson,
)
from tests.pipeline.flowfiles import fiscal_code, write

CF = fiscal_code("Bianchi", "Anna", "F", "1960-01-07")
CF_RESIDENT = fiscal_code("Rossi", "Mario", "M", "1950-04-03")
NPI = "http://hl7.org/fhir/sid/us-npi"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


@dataclass
class Ingested:
    root: Path
    key: bytes
    report: IngestReport

    def query(self, sql: str) -> list[dict[str, Any]]:
        with open_lake(self.root, restricted=True) as e:
            rows: list[dict[str, Any]] = e.query(sql).to_pylist()
            return rows

    def bmb_table(self, name: str) -> list[dict[str, Any]]:
        """A ``bmb.*`` table engines do not show (person_key, fhir_key), as of now."""
        lake = Lake.open(self.root)
        files = lake.data_files(f"bmb.{name}")
        return pq.ParquetDataset(files).read().to_pylist() if files else []


def _bp_panel(oid: str, subject: str) -> dict[str, Any]:
    def comp(code: str, value: int) -> dict[str, Any]:
        return {
            "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
            "valueQuantity": {"value": value, "unit": "mm[Hg]", "code": "mm[Hg]"},
        }

    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "category": [{"coding": [{"code": "vital-signs"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
        "subject": {"reference": subject},
        "effectiveDateTime": "2024-03-01",
        "component": [comp("8480-6", 120), comp("8462-4", 80)],
    }


def _mixed(d: Path) -> Path:
    d.mkdir()
    write_ndjson(
        d / "Patient.ndjson",
        [
            patient("p1", cf=CF),
            patient("p2", ssn="999-11-1111", mrn="MRN-0002", family="Verdi", gender="male"),
            patient("p3", cf="BNCNNA60A47D969X"),  # wrong check character
            patient("p4", mrn="MRN-0004", birth=None),  # nobody knows when she was born
            patient("p5", ssn="999-11-5555", deceased="2024-05-02T08:00:00+02:00"),
        ],
    )
    write_ndjson(
        d / "Practitioner.ndjson",
        [
            {
                "resourceType": "Practitioner",
                "id": "dr1",
                "identifier": [{"system": NPI, "value": "77"}],
            }
        ],
    )
    write_ndjson(
        d / "Encounter.ndjson",
        [
            encounter(
                "e1", "Patient/p1", participant=[{"individual": {"reference": "Practitioner/dr1"}}]
            ),
            encounter("e2", "Patient/p3"),
            encounter(
                "e3",
                "Patient/p2",
                period={"start": "2024-03-02T10:00:00Z", "end": "2024-03-01T10:00:00Z"},
            ),
        ],
    )
    write_ndjson(
        d / "Condition.ndjson",
        [
            condition("c1", "Patient/p1", encounter={"reference": "Encounter/e1"}),
            condition("c2", "Patient/nobody"),
            condition("c3", None),
            condition("c4", "Patient/p1", code=None),
            condition("c5", "Patient/p1", onsetDateTime="2024-02-30"),
            condition("c6", "Patient/p2", onsetDateTime="2019"),
            condition(
                "c7",
                "Patient/p2",
                verificationStatus={"coding": [{"code": "entered-in-error"}]},
            ),
        ],
    )
    smoking = {
        "resourceType": "Observation",
        "id": "o3",
        "status": "final",
        "category": [{"coding": [{"code": "social-history"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "72166-2"}]},
        "subject": {"reference": "Patient/p2"},
        "effectiveDateTime": "2024-03-01",
        "valueCodeableConcept": {
            "coding": [{"system": "http://snomed.info/sct", "code": "266919005"}],
            "text": "Never smoker",
        },
    }
    write_ndjson(
        d / "Observation.ndjson.gz",
        [observation("o1", "Patient/p2"), _bp_panel("o2", "Patient/p2"), smoking],
        extra_lines=['{"resourceType": "Observation", "id": "o4",', '{"foo": 1}', "   "],
    )
    write_ndjson(
        d / "export.ndjson",
        [
            {"resourceType": "Claim", "id": "cl1"},
            {"resourceType": "Claim", "id": "cl2"},
            {"resourceType": "Goal", "id": "g1"},
        ],
    )
    write_ndjson(
        d / "MedicationStatement.ndjson",
        [
            {
                "resourceType": "MedicationStatement",
                "id": "ms1",
                "status": "active",
                "contained": [
                    {
                        "resourceType": "Medication",
                        "id": "m",
                        "code": {"coding": [{"system": RXNORM, "code": "197361"}]},
                    }
                ],
                "medicationReference": {"reference": "#m"},
                "subject": {"reference": "Patient/p2"},
                "effectivePeriod": {"start": "2024-01-10", "end": "2024-02-09"},
            }
        ],
    )
    write_ndjson(
        d / "MedicationDispense.ndjson",
        [
            {
                "resourceType": "MedicationDispense",
                "id": "md1",
                "status": "completed",
                "medicationReference": {"reference": "Medication/nowhere"},
                "subject": {"reference": "Patient/p2"},
                "whenHandedOver": "2024-01-10",
            }
        ],
    )
    patient_b = patient("pb", ssn="999-11-2222", family="Neri")
    practitioner_b = {
        "resourceType": "Practitioner",
        "id": "drb",
        "identifier": [{"system": NPI, "value": "4242"}],
        "name": [{"family": "Gialli"}],
    }
    medication = {
        "resourceType": "Medication",
        "id": "med1",
        "code": {"coding": [{"system": RXNORM, "code": "860975", "display": "metformin"}]},
    }
    b = bundle(
        [
            patient_b,
            practitioner_b,
            medication,
            encounter(
                "eb",
                "urn:uuid:pb",
                participant=[{"individual": {"reference": f"Practitioner?identifier={NPI}|4242"}}],
            ),
            condition("cb", f"Patient?identifier={SSN_SYSTEM}|999-11-2222"),
            {
                "resourceType": "MedicationRequest",
                "id": "mr1",
                "status": "active",
                "intent": "order",
                "subject": {"reference": "urn:uuid:pb"},
                "authoredOn": "2024-03-05",
                "medicationReference": {"reference": "urn:uuid:med1"},
                "dispenseRequest": {
                    "expectedSupplyDuration": {"value": 30, "code": "d"},
                    "quantity": {"value": 60},
                },
            },
        ]
    )
    del b["entry"][0]["resource"]["id"]  # the server would assign it: the uuid stands in
    b["entry"].append({"request": {"method": "DELETE", "url": "Patient/old"}})
    b["entry"].append({"fullUrl": "urn:uuid:empty", "request": {"method": "POST"}})
    write_json(d / "bundle.json.gz", b)
    (d / "broken.json").write_text('{"resourceType": "Bundle", "entry": [', encoding="utf-8")
    (d / "notes.txt").write_text("not FHIR\n", encoding="utf-8")
    (d / "manifest.json").write_text('{"transactionTime": "2024-03-01"}', encoding="utf-8")
    latin1 = '{"resourceType": "Goal", "id": "g2", "note": [{"text": "caf\xe9"}]}'.encode("latin-1")
    (d / "Goal.ndjson").write_bytes(b'{"resourceType": "Goal", "id": "g3"}\n' + latin1 + b"\n")
    return d


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ingested]:
    base = tmp_path_factory.mktemp("fhir-mixed")
    mp = pytest.MonkeyPatch()
    mp.setenv("XDG_CONFIG_HOME", str(base / "config"))
    lake, _ = Lake.create(base / "lake")
    bootstrap(lake)
    report = ingest(base / "lake", [_mixed(base / "fhir")])
    yield Ingested(base / "lake", lake.key(), report)
    mp.undo()


def _quarantine(ing: Ingested) -> dict[tuple[str, int], dict[str, Any]]:
    rows = ing.query("SELECT file_name, line_number, field, reason, detail FROM landing.quarantine")
    return {(r["file_name"], r["line_number"]): r for r in rows}


def test_every_record_is_mapped_control_or_quarantined_per_file(mixed: Ingested) -> None:
    (batch,) = mixed.report.batches
    assert batch.flow == "fhir"
    ledger = mixed.query("SELECT files FROM bmb.ingestion_ledger WHERE kind = 'ingest'")
    files = {f["name"]: f for f in json.loads(ledger[0]["files"])}
    assert set(files) == {
        "Patient.ndjson",
        "Practitioner.ndjson",
        "Encounter.ndjson",
        "Condition.ndjson",
        "Observation.ndjson.gz",
        "export.ndjson",
        "bundle.json.gz",
        "broken.json",
        "Goal.ndjson",
        "MedicationStatement.ndjson",
        "MedicationDispense.ndjson",
    }
    for f in files.values():
        assert f["records_in"] == f["mapped"] + f["control"] + f["quarantined"], f
    # 3 resources, a broken line, a JSON line that is no resource; the blank line is none
    assert files["Observation.ndjson.gz"]["records_in"] == 5
    # the Bundle itself, 6 resources, a DELETE and an entry without resource
    assert files["bundle.json.gz"]["records_in"] == 9
    assert files["bundle.json.gz"]["control"] == 2  # the Bundle and the Medication
    assert files["export.ndjson"] == {**files["export.ndjson"], "control": 3, "mapped": 0}
    assert files["Goal.ndjson"] == {**files["Goal.ndjson"], "control": 1, "quarantined": 1}
    # files BMB does not read are listed, not quarantined: a manifest is no resource
    assert sorted(Path(p).name for p in mixed.report.unsupported) == ["manifest.json", "notes.txt"]


def test_unsupported_resource_types_are_counted_and_reported(mixed: Ingested) -> None:
    assert mixed.report.unsupported_resources == {"Claim": 2, "Goal": 2}
    ledger = mixed.query("SELECT files FROM bmb.ingestion_ledger WHERE kind = 'ingest'")
    files = {f["name"]: f for f in json.loads(ledger[0]["files"])}
    assert files["export.ndjson"]["unsupported"] == {"Claim": 2, "Goal": 1}


def test_bad_records_are_quarantined_with_file_line_field_and_reason(mixed: Ingested) -> None:
    q = _quarantine(mixed)
    got = {k: (r["field"], r["reason"]) for k, r in q.items()}
    assert got == {
        ("Observation.ndjson.gz", 4): (None, "invalid_json"),
        ("Observation.ndjson.gz", 5): ("resourceType", "not_a_resource"),
        ("Patient.ndjson", 3): ("identifier", "invalid_fiscal_code"),
        ("Patient.ndjson", 4): ("birthDate", "missing_value"),
        ("Encounter.ndjson", 2): ("subject", "unknown_person"),
        ("Encounter.ndjson", 3): ("period.end", "inconsistent_dates"),
        ("Condition.ndjson", 2): ("subject", "unknown_person"),
        ("Condition.ndjson", 3): ("subject", "missing_value"),
        ("Condition.ndjson", 4): ("code", "missing_value"),
        ("Condition.ndjson", 5): ("onset", "invalid_date"),
        ("bundle.json.gz", 7): (None, "unsupported_request"),
        ("bundle.json.gz", 8): (None, "missing_resource"),
        ("broken.json", 1): (None, "invalid_json"),
        ("Goal.ndjson", 2): (None, "encoding"),
        ("MedicationDispense.ndjson", 1): ("medication", "unknown_reference"),
    }
    assert "column" in q[("Observation.ndjson.gz", 4)]["detail"]
    assert "Patient/p3 was quarantined" in q[("Encounter.ndjson", 2)]["detail"]
    assert "neither in this batch nor in the lake" in q[("Condition.ndjson", 2)]["detail"]


def test_person_ids_follow_the_identifier_rule(mixed: Ingested) -> None:
    persons = {r["person_id"]: r for r in mixed.query("SELECT * FROM person")}
    by_cf = person_id(mixed.key, CF)
    by_ssn = id_from_pseudonym(pseudonym(mixed.key, fhir_identifier(SSN_SYSTEM, "999-11-1111")))
    bundled = id_from_pseudonym(pseudonym(mixed.key, fhir_identifier(SSN_SYSTEM, "999-11-2222")))
    assert by_cf in persons  # a fiscal code gives the flows' person_id
    assert by_ssn in persons  # the SSN outranks the record number listed before it
    assert bundled in persons
    assert len(persons) == 4  # p1, p2, p5 and the Bundle's Patient; p3 and p4 quarantined
    assert persons[by_ssn]["gender_concept_id"] == 8507
    kinds = sorted(k["id_kind"] for k in mixed.bmb_table("person_key"))
    assert kinds == ["CF", "FHIR", "FHIR", "FHIR"]


def test_deceased_datetime_is_a_death(mixed: Ingested) -> None:
    deaths = mixed.query("SELECT death_date, death_type_concept_id FROM death")
    assert [(str(d["death_date"]), d["death_type_concept_id"]) for d in deaths] == [
        ("2024-05-02", 32817)
    ]


def test_references_resolve_by_urn_uuid_and_conditionally(mixed: Ingested) -> None:
    bundled = id_from_pseudonym(pseudonym(mixed.key, fhir_identifier(SSN_SYSTEM, "999-11-2222")))
    npi = id_from_pseudonym(pseudonym(mixed.key, fhir_identifier(NPI, "4242"), domain="provider"))
    visits = mixed.query(f"SELECT provider_id FROM visit_occurrence WHERE person_id = {bundled}")
    assert visits == [{"provider_id": npi}]
    conds = mixed.query(
        f"SELECT count(*) AS n FROM condition_occurrence WHERE person_id = {bundled}"
    )
    assert conds == [{"n": 1}]
    drugs = mixed.query(
        "SELECT drug_source_value, drug_type_concept_id, days_supply, quantity, "
        "drug_exposure_start_date, drug_exposure_end_date FROM drug_exposure "
        f"WHERE person_id = {bundled}"
    )
    assert [
        (d["drug_source_value"], d["drug_type_concept_id"], d["days_supply"]) for d in drugs
    ] == [("860975", 32838, 30)]
    assert (drugs[0]["drug_exposure_end_date"] - drugs[0]["drug_exposure_start_date"]).days == 29


def test_a_contained_medication_gives_the_drug(mixed: Ingested) -> None:
    p2 = id_from_pseudonym(pseudonym(mixed.key, fhir_identifier(SSN_SYSTEM, "999-11-1111")))
    rows = mixed.query(
        "SELECT drug_source_value AS code, drug_exposure_start_date AS s, "
        f"drug_exposure_end_date AS e FROM drug_exposure WHERE person_id = {p2}"
    )
    assert [(r["code"], str(r["s"]), str(r["e"])) for r in rows] == [
        ("197361", "2024-01-10", "2024-02-09")
    ]


def test_conditions_link_visits_and_read_partial_dates(mixed: Ingested) -> None:
    rows = mixed.query(
        "SELECT condition_source_value, condition_start_date, visit_occurrence_id IS NOT NULL AS v "
        "FROM condition_occurrence ORDER BY condition_start_date, v"
    )
    assert [(str(r["condition_start_date"]), r["v"]) for r in rows] == [
        ("2019-01-01", False),  # onset "2019": from the first day of the year
        ("2024-03-01", False),  # the Bundle's condition has no encounter
        ("2024-03-01", True),
    ]
    assert {r["condition_source_value"] for r in rows} == {"44054006"}


def test_observations_split_components_and_route_by_value(mixed: Ingested) -> None:
    m = mixed.query(
        "SELECT measurement_source_value AS code, value_as_number AS v FROM measurement ORDER BY 1"
    )
    assert [(r["code"], r["v"]) for r in m] == [
        ("4548-4", 5.4),
        ("8462-4", 80.0),
        ("8480-6", 120.0),
    ]
    o = mixed.query(
        "SELECT observation_source_value AS code, value_as_string AS s FROM observation"
    )
    assert o == [{"code": "72166-2", "s": "Never smoker"}]


def test_unknown_codes_become_local_concepts_in_their_vocabulary(mixed: Ingested) -> None:
    rows = mixed.query(
        "SELECT c.vocabulary_id, c.concept_code, c.concept_id >= 2000000000 AS local, "
        "co.condition_concept_id = c.concept_id AS used FROM condition_occurrence co "
        "JOIN concept c ON c.concept_id = co.condition_source_concept_id LIMIT 1"
    )
    assert rows == [
        {"vocabulary_id": "SNOMED", "concept_code": "44054006", "local": True, "used": True}
    ]
    local = mixed.query(
        "SELECT count(*) AS n FROM bmb.local_concept WHERE vocabulary_id IN ('SNOMED', 'RxNorm')"
    )
    assert local[0]["n"] >= 2
    # a minted concept's domain is the table its rows went to
    domains = mixed.query(
        "SELECT concept_code, domain_id FROM concept WHERE vocabulary_id = 'LOINC' "
        "AND concept_code IN ('72166-2', '8480-6') ORDER BY 1"
    )
    assert domains == [
        {"concept_code": "72166-2", "domain_id": "Observation"},
        {"concept_code": "8480-6", "domain_id": "Measurement"},
    ]


def test_no_name_identifier_or_logical_id_outside_landing(mixed: Ingested) -> None:
    secrets = [
        CF,
        "999-11-1111",
        "999-11-2222",
        "999-11-5555",
        "MRN-0002",
        "Bianchi",
        "Verdi",
        "Neri",
    ]
    secrets += ["Gialli", "Via Balbi 5", "+39 010 5551234", "Patient/p1", "urn:uuid:pb"]
    batches = {
        r["batch_id"]
        for r in mixed.query("SELECT batch_id FROM bmb.ingestion_ledger WHERE kind = 'ingest'")
    }
    written = [
        p
        for p in (mixed.root / "warehouse").rglob("*.parquet")
        if p.parent.name.removeprefix("batch=") in batches
    ]
    assert len(written) > 10
    for path in written:
        text = str(pq.read_table(path).to_pylist())
        for s in secrets:
            assert s not in text, f"{s!r} in {path}"


# -- across batches -----------------------------------------------------------------------


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
