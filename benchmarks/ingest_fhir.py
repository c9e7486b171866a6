"""Benchmark: FHIR R4 into a new lake; BMB beside a hand-written per-resource Python ETL.

BMB lands the files, stages every resource as a record, flattens it with the shipped
ViewDefinitions, pseudonymizes Patients, resolves references, checks, maps to OMOP CDM
v5.4 (local concepts for unknown codes) and commits. The peer is the script most
FHIR-to-OMOP projects start with: ``json.loads`` of each line, a Python function per
resource type picking the same fields (subject, dates, first coding, value) into row
dicts, written to Parquet (zstd) per table - no validation, no pseudonymization, no
reference resolution, no vocabulary. Both read the same files; the script prints
resources per second, BMB's time per step, peak memory, the machine's load, and the
ratio.

    python -m benchmarks.ingest_fhir --persons 20000          # the synthetic region's export
    python -m benchmarks.ingest_fhir --fhir DIR               # any NDJSON export or Bundles
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import shutil
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

Row = dict[str, Any]


def _peak_gb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024 / 1024


def _resources(folder: Path) -> Iterator[dict[str, Any]]:
    for path in sorted(folder.rglob("*")):
        name = path.name.lower()
        opener = gzip.open if name.endswith(".gz") else open
        if name.endswith((".ndjson", ".ndjson.gz")):
            with opener(path, "rt", encoding="utf-8") as fh:
                for line in fh:
                    if line.strip():
                        yield json.loads(line)
        elif name.endswith((".json", ".json.gz")):
            with opener(path, "rt", encoding="utf-8") as fh:
                value = json.load(fh)
            if value.get("resourceType") == "Bundle":
                yield from (e["resource"] for e in value.get("entry", []) if "resource" in e)


def _code(cc: dict[str, Any] | None) -> str | None:
    codings = (cc or {}).get("coding") or [{}]
    return codings[0].get("code")


def _ref(r: dict[str, Any], name: str) -> str | None:
    return (r.get(name) or {}).get("reference")


#: resource type -> (table, element of the date, element of the code, subject element)
_PEER = {
    "Encounter": ("visit", "period", "class", "subject"),
    "Condition": ("condition", "onsetDateTime", "code", "subject"),
    "Observation": ("measurement", "effectiveDateTime", "code", "subject"),
    "Procedure": ("procedure", "performedDateTime", "code", "subject"),
    "MedicationDispense": ("drug", "whenHandedOver", "medicationCodeableConcept", "subject"),
    "MedicationRequest": ("drug", "authoredOn", "medicationCodeableConcept", "subject"),
    "Immunization": ("drug", "occurrenceDateTime", "vaccineCode", "patient"),
}


def _peer_row(r: dict[str, Any]) -> tuple[str, Row] | None:
    """What a first FHIR-to-OMOP script takes from a resource: a row dict per type."""
    rtype = r.get("resourceType", "")
    if rtype == "Patient":
        return "person", {"id": r.get("id"), "gender": r.get("gender"), "birth": r.get("birthDate")}
    spec = _PEER.get(rtype)
    if spec is None:
        return None
    table, date, code, subject = spec
    when = r.get(date)
    value = r.get(code)
    row = {
        "id": r.get("id"),
        "subject": _ref(r, subject),
        "date": when.get("start") if isinstance(when, dict) else when,
        "code": value.get("code") if rtype == "Encounter" and value else _code(value),
        "value": (r.get("valueQuantity") or {}).get("value"),
    }
    return table, row


def _peer(folder: Path, out: Path) -> tuple[int, float]:
    """The per-resource Python ETL: (resources read, seconds)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    tables: dict[str, list[Row]] = defaultdict(list)
    n = 0
    for r in _resources(folder):
        n += 1
        picked = _peer_row(r)
        if picked is not None:
            tables[picked[0]].append(picked[1])
    for name, rows in tables.items():
        pq.write_table(pa.Table.from_pylist(rows), out / f"{name}.parquet", compression="zstd")
    return n, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=20_000)
    parser.add_argument("--fhir", type=Path, help="an existing export (NDJSON or Bundles)")
    parser.add_argument("--keep", type=Path, help="keep the work directory here")
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args()

    from bmb.lake.store import Lake
    from bmb.pipeline.bootstrap import bootstrap
    from bmb.pipeline.ingest import ingest
    from bmb.synth.generator import SynthOptions, generate

    work = args.keep or Path(tempfile.mkdtemp(prefix="bmb-bench-fhir-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ["XDG_CONFIG_HOME"] = str(work / "config")
    fhir = args.fhir
    if fhir is None:
        region = work / "region"
        if not region.exists():
            print(f"generating {args.persons:,} persons (FHIR export) ...", flush=True)
            generate(
                SynthOptions(
                    persons=args.persons,
                    first_year=2024,
                    last_year=2024,
                    seed=7,
                    out=region,
                    formats=("fhir",),
                )
            )
        fhir = region / "fhir"
    lake_root = work / "lake"
    shutil.rmtree(lake_root, ignore_errors=True)
    lake, _ = Lake.create(lake_root)
    bootstrap(lake)
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

    t0 = time.perf_counter()
    report = ingest(lake_root, [fhir])
    bmb_seconds = time.perf_counter() - t0
    bmb_rate = report.records_in / bmb_seconds
    steps: dict[str, float] = defaultdict(float)
    for b in report.batches:
        for step, secs in b.timings.items():
            steps[step] += secs
    rows = sum(sum(b.rows_out.values()) for b in report.batches)
    print(
        f"\nBMB ingest: {report.records_in:,} records in {bmb_seconds:.1f} s "
        f"= {bmb_rate:,.0f} records/s ({len(report.batches)} batches, {rows:,} rows, "
        f"{report.records_quarantined:,} quarantined)"
    )
    if report.unsupported_resources:
        print(f"  not mapped (control): {report.unsupported_resources}")
    total_steps = sum(steps.values()) or 1.0
    for step, secs in sorted(steps.items(), key=lambda kv: -kv[1]):
        print(f"  {step:<13} {secs:8.1f} s  {100 * secs / total_steps:5.1f}%")
    print(f"  peak memory  {_peak_gb():.2f} GB")

    if not args.no_baseline:
        n, secs = _peer(fhir, work / "peer")
        rate = n / secs
        print(
            f"\nper-resource Python ETL (json.loads + field picking + Parquet): "
            f"{n:,} resources in {secs:.1f} s = {rate:,.0f} resources/s"
        )
        print(
            f"ratio BMB / peer: {bmb_rate / rate:.2f}x (BMB also validates, pseudonymizes, "
            "resolves references, maps codes and commits atomically)"
        )
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
