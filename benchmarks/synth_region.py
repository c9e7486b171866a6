"""Benchmark: the whole region (1.5 M persons, 3 years, flows and FHIR).

Target (issue 2): at most 10 minutes on a 2-core machine, peak memory at most 4 GB.
The peer, Synthea, is Java and not installable here (no Java packages, no internet),
so BMB's own numbers are printed against the targets. Run:

    python -m benchmarks.synth_region [--persons N] [--workers W] [--out DIR] [--keep]

With fewer persons than the region, the time and the output size are also projected
to the whole region (both grow linearly with persons: chunks are independent). The
whole region writes about 90 GB; the run stops at once if the disk cannot hold it.
Peak memory is sampled every half second over the main process and its workers
(sum of resident sets), besides each process's own peak.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import threading
import time
from pathlib import Path

from bmb.synth.generator import SynthOptions, SynthSummary, generate
from bmb.synth.memory import tune_allocators

REGION = 1_508_800
#: Bytes written per person-year, measured (flows ~11 KB, FHIR ~9 KB) [for the disk check].
BYTES_PER_PERSON_YEAR = 20_000
FHIR = {"Patient", "Encounter", "Condition", "Observation", "MedicationDispense", "Procedure"}


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


class TreeMemory:
    """Peak of the summed resident set of this process and its children (Linux /proc)."""

    def __init__(self) -> None:
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = os.getpid()
        while not self._stop.wait(0.5):
            total = _rss_kb(me) + sum(_rss_kb(c) for c in _children(me))
            self.peak_kb = max(self.peak_kb, total)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _report(s: SynthSummary, secs: float, cpu: float, tree_kb: int, years: int) -> None:
    peak_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    peak_kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    total_bytes = sum(s.bytes.values())
    print(f"BMB synth: {s.persons:,} persons, {years} years, {secs:.1f} s wall (target 600 s)")
    print(f"CPU time: {cpu:.1f} s (all processes); load average {os.getloadavg()[0]:.1f}")
    print(
        f"peak memory: main {peak_self:.0f} MB, largest worker {peak_kids:.0f} MB, "
        f"process tree {tree_kb / 1024:.0f} MB (target 4096 MB)"
    )
    print(f"written: {total_bytes / 1e9:.2f} GB")
    print("Synthea (peer): not installable here (Java, no internet); ratio not available")
    print(f"{'kind':<22}{'records':>14}{'MB':>10}{'records/s':>14}")
    for kind in sorted(s.records):
        n = s.records[kind]
        print(f"{kind:<22}{n:>14,}{s.bytes[kind] / 1e6:>10.0f}{n / secs:>14,.0f}")
    for fmt, kinds in (("flows", set(s.records) - FHIR), ("fhir", set(s.records) & FHIR)):
        n = sum(s.records[k] for k in kinds)
        print(
            f"{'all ' + fmt:<22}{n:>14,}{sum(s.bytes[k] for k in kinds) / 1e6:>10.0f}"
            f"{n / secs:>14,.0f}"
        )
    if s.persons < REGION:
        scale = REGION / s.persons
        print(
            f"projected to {REGION:,} persons: {secs * scale:.0f} s wall at this load, "
            f"{cpu * scale:.0f} s CPU ({cpu * scale / 2:.0f} s on 2 idle cores), "
            f"{total_bytes * scale / 1e9:.0f} GB"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--persons", type=int, default=REGION)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--years", default="2023-2025")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--keep", action="store_true", help="keep the output (default: delete)")
    args = ap.parse_args()
    first, last = (int(y) for y in args.years.split("-"))
    years = last - first + 1
    out = args.out or Path(tempfile.mkdtemp(prefix="bmb-synth-bench-")) / "region"
    need = args.persons * years * BYTES_PER_PERSON_YEAR * 1.1
    free = shutil.disk_usage(out.parent if out.parent.exists() else Path.cwd()).free
    if need > free:
        raise SystemExit(
            f"about {need / 1e9:.0f} GB needed, {free / 1e9:.0f} GB free under {out.parent}: "
            "choose --out on a larger disk or fewer --persons"
        )
    tune_allocators()
    cpu0 = os.times()
    t0 = time.perf_counter()
    try:
        with TreeMemory() as mem:
            s = generate(SynthOptions(args.persons, first, last, 7, out, workers=args.workers))
        secs = time.perf_counter() - t0
        cpu1 = os.times()
        cpu = sum(cpu1[:4]) - sum(cpu0[:4])
        _report(s, secs, cpu, mem.peak_kb, years)
    finally:
        if not args.keep:
            shutil.rmtree(out, ignore_errors=True)
            if args.out is None:
                shutil.rmtree(out.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
