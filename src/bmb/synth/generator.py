"""Generate a synthetic region to disk: flows, FHIR, ground truth, manifests.

People are drawn chunk by chunk in this process (cheap), fiscal codes are resolved
for the whole region (omocodia), then chunks of care are generated, in parallel when
asked, and appended to the files in chunk order, so memory stays bounded by a few
chunks and the output is byte-identical for a seed whatever the number of workers.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bmb._version import __version__
from bmb.domain.errors import UsageError
from bmb.domain.progress import NullProgress, Progress
from bmb.synth import population
from bmb.synth.chunk import ChunkResult, Job, run, run_spilled
from bmb.synth.output import Output, TruthWriter
from bmb.synth.region import load_region

FORMATS = ("flows", "fhir")


@dataclass(frozen=True, slots=True)
class SynthOptions:
    """What to generate."""

    persons: int
    first_year: int
    last_year: int
    seed: int
    out: Path
    formats: tuple[str, ...] = FORMATS
    error_rate: float = 0.0
    region: str = "liguria"
    workers: int = 1

    def check(self) -> None:
        if self.persons < 1:
            raise UsageError("--persons must be at least 1")
        if not 1900 < self.first_year <= self.last_year < 2100:
            raise UsageError("--years must be like 2023-2025 (first <= last)")
        if not 0 <= self.error_rate < 0.5:
            raise UsageError("--error-rate must be between 0 and 0.5")
        bad = set(self.formats) - set(FORMATS)
        if bad or not self.formats:
            raise UsageError(f"--formats takes {', '.join(FORMATS)}; got {', '.join(sorted(bad))}")
        if self.workers < 1:
            raise UsageError("--workers must be at least 1")


@dataclass(frozen=True, slots=True)
class SynthSummary:
    """What was written, for the closing table and the benchmark."""

    persons: int
    seconds: float
    records: dict[str, int]  # per flow layout / FHIR resource type
    bytes: dict[str, int]
    faults: int
    out: Path


def _chunks(opts: SynthOptions) -> list[int]:
    n = math.ceil(opts.persons / population.CHUNK)
    sizes = [population.CHUNK] * n
    sizes[-1] = opts.persons - population.CHUNK * (n - 1)
    return sizes


def generate(opts: SynthOptions, progress: Progress | None = None) -> SynthSummary:
    """Write the synthetic region under ``opts.out``."""
    opts.check()
    progress = progress or NullProgress()
    t0 = time.perf_counter()
    region = load_region(opts.region)
    start = np.datetime64(f"{opts.first_year}-01-01")
    years = opts.last_year - opts.first_year + 1
    if opts.out.exists() and any(opts.out.iterdir()):
        raise UsageError(f"output directory {opts.out} is not empty", hint="choose a new --out")
    opts.out.mkdir(parents=True, exist_ok=True)
    sizes = _chunks(opts)
    progress.start("people", total=len(sizes))
    people = []
    for c, size in enumerate(sizes):
        people.append(population.chunk_people(opts.seed, c, size, region, start, years))
        progress.advance("people")
    population.assign_codes(people, region, opts.seed)
    prov = population.providers(opts.seed, region, opts.persons)
    for c, p in enumerate(people):
        population.assign_gps(p, prov, region, start, opts.seed, c)
    progress.finish("people")
    spill = opts.out / ".parts" if opts.workers > 1 and len(people) > 1 else None
    jobs = [
        Job(opts.seed, c, opts.region, start, years, p, prov, opts.error_rate, opts.formats, spill)
        for c, p in enumerate(people)
    ]
    del people
    writer = Output(opts.out, region.region_code)
    truth = TruthWriter(opts.out / "truth")
    progress.start("care", total=len(jobs))
    total_persons = 0
    try:
        for res in _results(jobs, opts.workers, writer):
            total_persons += res.persons
            truth.write(res)
            progress.advance("care")
    finally:
        writer.close()
        truth.close()
    progress.finish("care")
    summary = _manifest(opts, writer, truth, time.perf_counter() - t0, total_persons, years)
    return summary


def _results(jobs: list[Job], workers: int, writer: Output) -> Iterator[ChunkResult]:
    """Run the chunks; their pieces reach ``writer`` in chunk order.

    In one process, pieces go straight to the writer. With workers, each chunk's
    pieces go to a spill file that this process copies into the outputs, in order, and
    deletes: the files are hashed by one process, and nothing big crosses a pipe.
    """
    if jobs[0].spill is None:
        for job in jobs:
            yield run(job, writer)
        return
    import multiprocessing as mp

    from bmb.synth.memory import tune_allocators

    jobs[0].spill.mkdir(parents=True, exist_ok=True)
    ctx = mp.get_context("fork" if os.name == "posix" else "spawn")
    try:
        with ctx.Pool(workers, initializer=tune_allocators, maxtasksperchild=20) as pool:
            for res in pool.imap(run_spilled, jobs, chunksize=1):
                writer.replay(res)
                yield res
    finally:
        for part in jobs[0].spill.glob("chunk-*.bin"):
            part.unlink()
        jobs[0].spill.rmdir()


def _manifest(
    opts: SynthOptions,
    writer: Output,
    truth: TruthWriter,
    seconds: float,
    persons: int,
    years: int,
) -> SynthSummary:
    files = []
    records: dict[str, int] = {}
    sizes: dict[str, int] = {}
    for rel in sorted(writer.files):
        st = writer.files[rel]
        files.append(
            {
                "path": rel,
                "kind": st.kind,
                "records": st.records,
                "bytes": st.size,
                "sha256": st.sha.hexdigest(),
            }
        )
        records[st.kind] = records.get(st.kind, 0) + st.records
        sizes[st.kind] = sizes.get(st.kind, 0) + st.size
    for name, rows in truth.rows.items():
        path = f"truth/{name}.parquet"
        data = (opts.out / path).read_bytes()
        files.append(
            {
                "path": path,
                "kind": "truth",
                "records": rows,
                "bytes": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        )
    manifest = {
        "generator": "bmb synth",
        "bmb_version": __version__,
        "region": opts.region,
        "seed": opts.seed,
        "persons": opts.persons,
        "persons_including_births_and_arrivals": persons,
        "years": [opts.first_year, opts.last_year],
        "formats": list(opts.formats),
        "error_rate": opts.error_rate,
        "chunk_size": population.CHUNK,
        "files": files,
    }
    (opts.out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    (opts.out / "faults.json").write_text(
        json.dumps({"error_rate": opts.error_rate, "faults": writer.faults}, indent=1) + "\n"
    )
    del years
    return SynthSummary(persons, seconds, records, sizes, len(writer.faults), opts.out)
