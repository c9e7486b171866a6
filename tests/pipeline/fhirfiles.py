"""Hand-made FHIR resources, NDJSON files and Bundles for pipeline tests.

Independent of Synthea and of the synthetic region on purpose: each test states the
resources it feeds, so a failure points at one mapping rule.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from bmb.engines.lake import open_lake
from bmb.lake.store import Lake
from bmb.pipeline.ingest import IngestReport

CF_SYSTEM = "http://hl7.it/sid/codiceFiscale"
SSN_SYSTEM = "http://hl7.org/fhir/sid/us-ssn"
MRN_SYSTEM = "http://hospital.example.org/mrn"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"

Resource = dict[str, Any]


def patient(
    pid: str,
    *,
    cf: str | None = None,
    ssn: str | None = None,
    mrn: str | None = None,
    birth: str | None = "1960-01-07",
    gender: str = "female",
    family: str = "Bianchi",
    deceased: str | None = None,
) -> Resource:
    identifiers: list[dict[str, Any]] = []
    if mrn:
        identifiers.append(
            {"type": {"coding": [{"code": "MR"}]}, "system": MRN_SYSTEM, "value": mrn}
        )
    if ssn:
        identifiers.append(
            {"type": {"coding": [{"code": "SS"}]}, "system": SSN_SYSTEM, "value": ssn}
        )
    if cf:
        identifiers.append({"system": CF_SYSTEM, "value": cf})
    r: Resource = {
        "resourceType": "Patient",
        "id": pid,
        "identifier": identifiers,
        "name": [{"family": family, "given": ["Anna"]}],
        "telecom": [{"system": "phone", "value": "+39 010 5551234"}],
        "gender": gender,
        "address": [{"line": ["Via Balbi 5"], "city": "Genova", "postalCode": "16126"}],
    }
    if birth:
        r["birthDate"] = birth
    if deceased:
        r["deceasedDateTime"] = deceased
    return r


def encounter(
    eid: str, subject: str, start: str = "2024-03-01T10:00:00+01:00", **extra: Any
) -> Resource:
    return {
        "resourceType": "Encounter",
        "id": eid,
        "status": "finished",
        "class": {"code": "AMB"},
        "subject": {"reference": subject},
        "period": {"start": start, "end": start},
        **extra,
    }


def condition(
    cid: str, subject: str | None, code: str | None = "44054006", **extra: Any
) -> Resource:
    r: Resource = {"resourceType": "Condition", "id": cid, "onsetDateTime": "2024-03-01", **extra}
    if subject:
        r["subject"] = {"reference": subject}
    if code:
        r["code"] = {"coding": [{"system": SNOMED, "code": code, "display": "Diabetes type 2"}]}
    return r


def observation(oid: str, subject: str, value: float | None = 5.4, **extra: Any) -> Resource:
    r: Resource = {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "4548-4", "display": "HbA1c"}]},
        "subject": {"reference": subject},
        "effectiveDateTime": "2024-03-01T10:30:00+01:00",
        **extra,
    }
    if value is not None:
        r["valueQuantity"] = {
            "value": value,
            "unit": "%",
            "system": "http://unitsofmeasure.org",
            "code": "%",
        }
    return r


def write_ndjson(path: Path, resources: list[Resource], *, extra_lines: list[str] = ()) -> Path:  # type: ignore[assignment]
    lines = [json.dumps(r) for r in resources] + list(extra_lines)
    data = ("\n".join(lines) + "\n").encode()
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


def bundle(resources: list[Resource], kind: str = "transaction", *, urn: bool = True) -> Resource:
    """A Bundle whose entries have urn:uuid fullUrls (references may use them)."""
    entries = []
    for r in resources:
        entry: dict[str, Any] = {
            "resource": r,
            "request": {"method": "POST", "url": r["resourceType"]},
        }
        if urn and "id" in r:
            entry["fullUrl"] = f"urn:uuid:{r['id']}"
        entries.append(entry)
    return {"resourceType": "Bundle", "type": kind, "entry": entries}


def write_json(path: Path, value: Resource) -> Path:
    data = json.dumps(value).encode()
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


@dataclass
class Ingested:
    """A lake after an ingestion, its key and the report, with query helpers."""

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
