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
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np

from bmb import __version__
from bmb.domain.errors import UsageError
from bmb.domain.flows import LAYOUTS, file_name
from bmb.domain.progress import NullProgress, Progress
from bmb.synth import population
from bmb.synth.chunk import ChunkResult, Job, run
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


@dataclass(slots=True)
class FileStat:
    path: str
    kind: str  # flow layout name, FHIR resource type, or truth
    records: int = 0
    bytes: int = 0
    sha: hashlib._Hash = field(default_factory=hashlib.sha256)


@dataclass(frozen=True, slots=True)
class SynthSummary:
    """What was written, for the closing table and the benchmark."""

    persons: int
    seconds: float
    records: dict[str, int]  # per flow layout / FHIR resource type
    bytes: dict[str, int]
    faults: int
    out: Path


class _Writer:
    def __init__(self, out: Path) -> None:
        self.out = out
        self.files: dict[str, FileStat] = {}
        self.handles: dict[str, IO[bytes]] = {}
        self.faults: list[dict[str, object]] = []

    def append(self, rel: str, kind: str, data: bytes, records: int) -> int:
        """Append bytes; returns the number of records written before them."""
        st = self.files.get(rel)
        if st is None:
            st = self.files[rel] = FileStat(rel, kind)
            path = self.out / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            self.handles[rel] = path.open("wb")
        before = st.records
        self.handles[rel].write(data)
        st.sha.update(data)
        st.records += records
        st.bytes += len(data)
        return before

    def close(self) -> None:
        for h in self.handles.values():
            h.close()
        self.handles.clear()


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
    jobs = [
        Job(opts.seed, c, opts.region, start, years, p, prov, opts.error_rate, opts.formats)
        for c, p in enumerate(people)
    ]
    del people
    writer = _Writer(opts.out)
    truth = _TruthWriter(opts.out / "truth")
    progress.start("care", total=len(jobs))
    total_persons = 0
    try:
        for res in _results(jobs, opts.workers):
            total_persons += res.persons
            _write(writer, res, region.region_code)
            truth.write(res)
            progress.advance("care")
    finally:
        writer.close()
        truth.close()
    progress.finish("care")
    summary = _manifest(opts, writer, truth, time.perf_counter() - t0, total_persons, years)
    return summary


def _results(jobs: list[Job], workers: int) -> Iterator[ChunkResult]:
    if workers == 1 or len(jobs) == 1:
        for job in jobs:
            yield run(job)
        return
    import multiprocessing as mp

    ctx = mp.get_context("fork" if os.name == "posix" else "spawn")
    with ctx.Pool(workers, maxtasksperchild=20) as pool:
        yield from pool.imap(run, jobs, chunksize=1)


def _write(writer: _Writer, res: ChunkResult, region_code: str) -> None:
    for layout, year, month, data, n, faults in res.flow_pieces:
        flow = LAYOUTS[layout].flow
        name = file_name(layout, region_code, year, month)
        rel = f"flows/{flow}/{name}"
        before = writer.append(rel, layout, data, n)
        for f in faults:
            writer.faults.append(
                {
                    "file": rel,
                    "line": before + f.line + 1,
                    "layout": layout,
                    "field": f.field,
                    "kind": f.kind,
                    "reason": f.reason,
                }
            )
    for rtype, (data, n) in res.fhir.items():
        writer.append(f"fhir/{rtype}.ndjson", rtype, data, n)


class _TruthWriter:
    """Ground truth as Parquet, never meant for ingestion."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.writers: dict[str, object] = {}
        self.rows: dict[str, int] = {}

    def write(self, res: ChunkResult) -> None:
        import pyarrow.parquet as pq

        for name, table in (("persons", res.truth_persons), ("person_years", res.truth_years)):
            if table is None:
                continue
            w = self.writers.get(name)
            if w is None:
                self.folder.mkdir(parents=True, exist_ok=True)
                w = self.writers[name] = pq.ParquetWriter(
                    self.folder / f"{name}.parquet", table.schema, compression="zstd"
                )
            w.write_table(table)  # type: ignore[attr-defined]
            self.rows[name] = self.rows.get(name, 0) + table.num_rows

    def close(self) -> None:
        for w in self.writers.values():
            w.close()  # type: ignore[attr-defined]


def _manifest(
    opts: SynthOptions,
    writer: _Writer,
    truth: _TruthWriter,
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
                "bytes": st.bytes,
                "sha256": st.sha.hexdigest(),
            }
        )
        records[st.kind] = records.get(st.kind, 0) + st.records
        sizes[st.kind] = sizes.get(st.kind, 0) + st.bytes
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
