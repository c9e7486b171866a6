"""The FHIR-to-OMOP views BMB ships: valid, compiled, and the same rows on both paths.

The pipeline runs them on the compiled path; the reference path is the spec's
processing model, so agreement on real resources (Synthea's Bundles, which carry
components, choice types and several codings) says the compiled rows are right.
Views that are not identifier views must not output names, addresses or identifiers.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from bmb.sources.fhir.conformance import canonical
from bmb.sources.fhir.ndjson import bundle_resources
from bmb.sources.fhir.omop import MAPPED_TYPES, OMOP_VIEWS, omop_view
from bmb.sources.fhir.reference import evaluate_view
from bmb.sources.fhir.sql import compile_view, evaluate_compiled


@pytest.fixture(scope="module")
def resources(fixtures_dir: Path) -> list[dict[str, Any]]:
    """Every resource of 12 Synthea Bundles (about 3,500), references rewritten."""
    out: list[dict[str, Any]] = []
    for path in sorted((fixtures_dir / "synthea-fhir-r4").glob("*.json.gz"))[:12]:
        out += bundle_resources(json.loads(gzip.decompress(path.read_bytes())), path)
    return out


def _rows(rows: list[dict[str, Any]]) -> list[str]:
    return sorted(json.dumps(canonical(r), sort_keys=True) for r in rows)


@pytest.mark.parametrize("name", sorted(OMOP_VIEWS))
def test_view_reads_its_type_and_compiles(name: str) -> None:
    view = omop_view(name)
    assert view.resource == OMOP_VIEWS[name]
    assert view.columns[0].name == "record"
    compile_view(view)  # raises Declined: the pipeline would fall back to the reference path


@pytest.mark.parametrize("name", sorted(OMOP_VIEWS))
def test_compiled_and_reference_rows_agree_on_synthea(
    name: str, resources: list[dict[str, Any]]
) -> None:
    view = omop_view(name)
    typed = [r for r in resources if r["resourceType"] == view.resource]
    reference = evaluate_view(view, typed)
    assert _rows(evaluate_compiled(view, typed)) == _rows(reference)
    if view.resource in ("Patient", "Encounter", "Observation", "Condition"):
        assert reference, f"no rows for {name}: the sample lacks {view.resource}"


def test_only_identifier_views_output_identifiers(resources: list[dict[str, Any]]) -> None:
    patients = [r for r in resources if r["resourceType"] == "Patient"]
    secrets = {i["value"] for p in patients for i in p["identifier"]}
    secrets |= {n["family"] for p in patients for n in p["name"]}
    secrets |= {line for p in patients for a in p.get("address", []) for line in a["line"]}
    secrets |= {t["value"] for p in patients for t in p.get("telecom", [])}
    rows = evaluate_view(omop_view("patient"), patients)
    assert len(rows) == len(patients)
    assert not {str(v) for r in rows for v in r.values()} & secrets
    ids = evaluate_view(omop_view("patient_identifier"), patients)
    assert {r["value"] for r in ids} == {i["value"] for p in patients for i in p["identifier"]}


def test_the_mapped_types_are_the_views_types() -> None:
    assert set(OMOP_VIEWS.values()) == MAPPED_TYPES
    assert "Claim" not in MAPPED_TYPES
