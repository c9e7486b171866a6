"""Benchmark: the whole region (1.5 M persons, 3 years, flows and FHIR).

Target (issue 2): at most 10 minutes on a 2-core machine, peak memory at most 4 GB.
The peer, Synthea, is Java and not installable here (no Java packages, no internet),
so BMB's own numbers are printed against the targets. Run:

    python -m benchmarks.synth_region [--persons N] [--workers W] [--out DIR]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from pathlib import Path

from bmb.synth.generator import SynthOptions, generate
from bmb.synth.memory import tune_allocators


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--persons", type=int, default=1_508_800)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="bmb-synth-bench-")) / "region"
    tune_allocators()
    t0 = time.perf_counter()
    s = generate(SynthOptions(args.persons, 2023, 2025, seed=7, out=out, workers=args.workers))
    secs = time.perf_counter() - t0
    peak_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    peak_kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"BMB synth: {s.persons:,} persons, 3 years, {secs:.1f} s (target 600 s)")
    print(f"peak RSS: main {peak_self:.0f} MB, largest worker {peak_kids:.0f} MB (target 4096 MB)")
    print("Synthea (peer): not installable here (Java, no internet); ratio not available")
    print(f"{'kind':<22}{'records':>14}{'MB':>10}{'records/s':>14}")
    for kind in sorted(s.records):
        n = s.records[kind]
        print(f"{kind:<22}{n:>14,}{s.bytes[kind] / 1e6:>10.0f}{n / secs:>14,.0f}")
    if args.out is None:
        shutil.rmtree(out.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
