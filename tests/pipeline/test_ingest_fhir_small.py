"""FHIR ingestion of hand-made resources: each mapping, check and reference rule.

One lake takes one mixed run: Bulk NDJSON, a gzipped transaction Bundle, a broken
file, a manifest and a text file beside them. What must hold across batches is in
``test_ingest_fhir_batches``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from bmb.domain.identity import fhir_identifier, id_from_pseudonym, person_id, pseudonym
from bmb.lake.store import Lake
from bmb.pipeline.bootstrap import bootstrap
from bmb.pipeline.ingest import ingest
from tests.pipeline.fhirfiles import (
    SSN_SYSTEM,
    Ingested,
    bundle,
    condition,
    encounter,
    observation,
    patient,
    write_json,
    write_ndjson,
)
from tests.pipeline.flowfiles import fiscal_code

CF = fiscal_code("Bianchi", "Anna", "F", "1960-01-07")
NPI = "http://hl7.org/fhir/sid/us-npi"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


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
