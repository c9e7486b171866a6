"""Benchmark: SQL-on-FHIR view throughput, BMB beside a per-resource fhirpathpy baseline.

Runs the two flattening views shipped with BMB (``observation_flat``, ``patient_flat``)
over NDJSON with ``bmb.sources.fhir.runner.run_view`` (compiled path, 2 cores, Parquet
zstd output) and evaluates the same column paths per resource with fhirpathpy on a
sample, also on 2 processes. Prints both rates and their ratio.

Without ``--input`` it writes its own NDJSON by replicating the Synthea R4 Patients and
Observations of ``../shared/fixtures/synthea-fhir-r4`` with fresh ids (5 million
resources by default); with ``--input DIR`` it reads ``Patient*.ndjson[.gz]`` and
``Observation*.ndjson[.gz]`` from DIR (or DIR/fhir), e.g. the synthetic region's export.

    python -m benchmarks.fhir_views [--input DIR] [--resources 5000000] [--sample 20000]
"""

from __future__ import annotations

import argparse
import gzip
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURES = (REPO / ".." / "shared" / "fixtures").resolve()
VIEWS = REPO / "src" / "bmb" / "sources" / "fhir" / "views"
TARGET = 200_000

# fhirpathpy has no SQL-on-FHIR key functions: the baseline reads the same elements.
BASELINE_PATHS = {
    "getResourceKey()": "id",
    "subject.getReferenceKey(Patient)": "subject.reference",
    "encounter.getReferenceKey(Encounter)": "encounter.reference",
}


def _templates() -> tuple[list[str], list[str]]:
    """Synthea Patients and Observations as JSON text with id/reference placeholders."""
    sys.path.insert(0, str(REPO / "src"))
    from bmb.sources.fhir.ndjson import read_json_file

    patients: list[str] = []
    observations: list[str] = []
    for bundle in sorted((FIXTURES / "synthea-fhir-r4").glob("*.json.gz")):
        for r in read_json_file(bundle):
            if r["resourceType"] == "Patient":
                r["id"] = "@ID@"
                patients.append(json.dumps(r, default=float, separators=(",", ":")))
            elif r["resourceType"] == "Observation":
                r["id"] = "@ID@"
                r["subject"] = {"reference": "Patient/@PAT@"}
                if "encounter" in r:
                    r["encounter"] = {"reference": "Encounter/@ENC@"}
                observations.append(json.dumps(r, default=float, separators=(",", ":")))
    return patients, observations


def generate(directory: Path, total: int) -> dict[str, int]:
    """Write Patient.ndjson and Observation.ndjson (about 1:9) with fresh ids."""
    patients, observations = _templates()
    n_pat = max(1, total // 10)
    n_obs = total - n_pat
    with (directory / "Patient.ndjson").open("w") as out:
        for i in range(n_pat):
            out.write(patients[i % len(patients)].replace("@ID@", f"p{i}", 1) + "\n")
    with (directory / "Observation.ndjson").open("w") as out:
        for i in range(n_obs):
            text = observations[i % len(observations)].replace("@ID@", f"o{i}", 1)
            text = text.replace("@PAT@", f"p{i % n_pat}", 1).replace("@ENC@", f"e{i // 5}", 1)
            out.write(text + "\n")
    return {"Patient": n_pat, "Observation": n_obs}


def _files(directory: Path, resource: str) -> list[Path]:
    for base in (directory, directory / "fhir"):
        found = sorted(base.glob(f"{resource}*.ndjson")) + sorted(
            base.glob(f"{resource}*.ndjson.gz")
        )
        if found:
            return found
    return []


def _lines(path: Path, limit: int | None = None) -> list[str]:
    opener = gzip.open if path.name.endswith(".gz") else open
    out: list[str] = []
    with opener(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                out.append(line)
                if limit is not None and len(out) >= limit:
                    break
    return out


def _count(paths: list[Path]) -> int:
    total = 0
    for path in paths:
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rb") as handle:
            total += sum(1 for line in handle if line.strip())
    return total


def _baseline_worker(args: tuple[list[str], list[str]]) -> int:
    """Evaluate every column path on every resource with fhirpathpy; rows produced."""
    import fhirpathpy
    from fhirpathpy.models import models

    paths, lines = args
    compiled = [fhirpathpy.compile(p, models["r4"]) for p in paths]
    rows = 0
    for line in lines:
        resource = json.loads(line)
        _row = [fn(resource) for fn in compiled]
        rows += 1
    return rows


def baseline(view_file: Path, lines: list[str], workers: int) -> tuple[float, list[str]]:
    """fhirpathpy resources per second on ``lines`` using ``workers`` processes."""
    view = json.loads(view_file.read_text())
    paths = [
        BASELINE_PATHS.get(c["path"], c["path"])
        for s in view["select"]
        for c in s.get("column", [])
    ]
    for s in view["select"]:  # forEachOrNull selects: evaluate the focus path too
        if "forEachOrNull" in s:
            paths.append(s["forEachOrNull"])
    halves = [lines[i::workers] for i in range(workers)]
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers) as pool:
        pool.map(_baseline_worker, [(paths, lines[:10])] * workers)  # import and warm up
        started = time.perf_counter()
        pool.map(_baseline_worker, [(paths, h) for h in halves])
        elapsed = time.perf_counter() - started
    return len(lines) / elapsed, paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", type=Path, help="folder with Patient/Observation NDJSON")
    parser.add_argument("--resources", type=int, default=5_000_000, help="resources to generate")
    parser.add_argument("--sample", type=int, default=20_000, help="fhirpathpy sample size")
    parser.add_argument("--workers", type=int, default=2, help="cores for both sides")
    args = parser.parse_args()

    sys.path.insert(0, str(REPO / "src"))
    from bmb.sources.fhir.runner import run_view
    from bmb.sources.fhir.viewdef import load_view

    scratch = Path(tempfile.mkdtemp(prefix="bmb-fhir-bench-"))
    try:
        if args.input:
            source = args.input
            print(f"input: {source} (given with --input)")
        else:
            source = scratch
            started = time.perf_counter()
            counts = generate(scratch, args.resources)
            print(
                f"input: generated {sum(counts.values()):,} resources ({counts['Patient']:,} "
                f"Patients, {counts['Observation']:,} Observations) by replicating the Synthea "
                f"R4 fixtures with fresh ids, in {time.perf_counter() - started:.0f} s"
            )
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(
            f"machine load average {load} on {os.cpu_count()} cores (other work slows both sides)"
        )
        print(
            f"cores: {args.workers}; BMB writes Parquet (zstd); fhirpathpy sample "
            f"{args.sample:,} per view, same column paths, {args.workers} processes\n"
        )
        header = f"{'view':<18}{'resources':>12}{'BMB res/s':>13}{'fhirpathpy res/s':>18}"
        print(header + f"{'ratio':>8}  path / target")
        total = 0
        for name, resource in (("observation_flat", "Observation"), ("patient_flat", "Patient")):
            files = _files(source, resource)
            if not files:
                print(f"{name:<18} no {resource} NDJSON in {source}")
                continue
            view = load_view(VIEWS / f"{name}.json")
            n = _count(files)
            total += n
            summary = run_view(view, files, scratch / f"{name}.parquet", workers=args.workers)
            rate = n / summary.seconds
            sample = _lines(files[0], args.sample)
            base, _ = baseline(VIEWS / f"{name}.json", sample, args.workers)
            verdict = "met" if rate >= TARGET else "NOT met"
            print(
                f"{name:<18}{n:>12,}{rate:>13,.0f}{base:>18,.0f}{rate / base:>7.0f}x  "
                f"{summary.path}; >= {TARGET:,}/s {verdict} ({summary.seconds:.1f} s)"
            )
        print(f"\n{total:,} resources evaluated")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
