"""Benchmark: ingest a synthetic region's flows into a new lake; BMB beside a pandas baseline.

BMB lands, validates every field, pseudonymizes, maps to OMOP CDM v5.4 and commits.
The peer is what many regional ETLs do first: pandas ``read_fwf``/``read_csv`` of the
same files with the same field positions, written to Parquet (zstd) - parsing and
storing only, no validation, no pseudonymization, no mapping. Both run on the same
files in one run; the script prints records per second, BMB's time split across its
steps, peak memory, and the ratio. BMB runs as users run it, ``bmb ingest`` in a process
of its own, so its peak memory is the ingestion's alone (not the generator's).

    python -m benchmarks.ingest_region --persons 100000 [--years 2024-2024] [--keep DIR]
    python -m benchmarks.ingest_region --region DIR   # an existing `bmb synth` output

Targets (issue "The lake"): at least 500,000 source records per second end to end on
2 cores, peak memory at most 6 GB, on the whole region (1.5 million persons, 1 year).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

TARGET_RATE = 500_000
TARGET_GB = 6.0


def _run_measured(cmd: list[str]) -> tuple[str, float, float]:
    """Run a command; its standard output, wall seconds and peak memory (GB)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    out = proc.stdout.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed")
    return out, seconds, usage.ru_maxrss / 1024 / 1024


def _pandas_baseline(flows: Path, out: Path) -> tuple[int, float]:
    """Parse every flow file with pandas by its layout and write Parquet; (records, s)."""
    import pandas as pd

    from bmb.domain.flows import parse_file_name
    from bmb.domain.flows.layout import Framing

    out.mkdir(parents=True, exist_ok=True)
    records = 0
    t0 = time.perf_counter()
    for i, path in enumerate(sorted(flows.rglob("*.txt"))):
        parsed = parse_file_name(path.name)
        if parsed is None:
            continue
        layout = parsed[0]
        names = [f.name for f in layout.fields]
        if layout.framing is Framing.FIXED:
            colspecs = [(f.start - 1, f.end) for f in layout.fields]
            df = pd.read_fwf(
                path,
                colspecs=colspecs,
                names=names,
                dtype=str,
                encoding="utf-8",
                encoding_errors="replace",
            )
        else:
            df = pd.read_csv(
                path,
                sep=layout.separator,
                names=names,
                dtype=str,
                header=None,
                encoding="utf-8",
                encoding_errors="replace",
                on_bad_lines="skip",
                engine="c",
                quoting=3,
            )
        df.to_parquet(out / f"{i}.parquet", compression="zstd")
        records += len(df)
    return records, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--years", default="2024-2024")
    parser.add_argument("--region", type=Path, help="use an existing bmb synth output")
    parser.add_argument("--keep", type=Path, help="keep the work directory here")
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args()

    from bmb.synth.generator import SynthOptions, generate

    work = args.keep or Path(tempfile.mkdtemp(prefix="bmb-bench-ingest-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ["XDG_CONFIG_HOME"] = str(work / "config")
    region = args.region
    if region is None:
        years = [int(y) for y in args.years.split("-")]
        first, last = years[0], years[-1]
        region = work / "region"
        if not region.exists():
            print(f"generating {args.persons:,} persons {first}-{last} ...", flush=True)
            generate(
                SynthOptions(
                    persons=args.persons,
                    first_year=first,
                    last_year=last,
                    seed=7,
                    out=region,
                    formats=("flows",),
                    error_rate=0.01,
                    workers=2,
                )
            )
    flows = region / "flows" if (region / "flows").is_dir() else region
    lake_root = work / "lake"
    shutil.rmtree(lake_root, ignore_errors=True)
    bmb = Path(sys.executable).parent / "bmb"
    subprocess.run([str(bmb), "init", str(lake_root)], check=True, stdout=subprocess.DEVNULL)
    out, bmb_seconds, peak = _run_measured(
        [str(bmb), "ingest", str(flows), "--lake", str(lake_root), "--json"]
    )
    report = json.loads(out)
    batches = report["batches"]
    records_in = sum(b["records_in"] for b in batches)
    quarantined = sum(b["records_quarantined"] for b in batches)
    bmb_rate = records_in / bmb_seconds
    steps: dict[str, float] = defaultdict(float)
    for b in batches:
        for step, secs in b["timings"].items():
            steps[step] += secs
    print(
        f"\nBMB ingest: {records_in:,} records in {bmb_seconds:.1f} s "
        f"= {bmb_rate:,.0f} records/s ({len(batches)} batches, "
        f"{quarantined:,} quarantined)"
    )
    total_steps = sum(steps.values()) or 1.0
    for step in ("land", "read", "parse", "pseudonymize", "validate", "map", "commit"):
        secs = steps.get(step, 0.0)
        print(f"  {step:<13} {secs:8.1f} s  {100 * secs / total_steps:5.1f}%")
    print(f"  peak memory  {peak:.2f} GB (target <= {TARGET_GB} GB)")
    print(f"  target {TARGET_RATE:,} records/s: {'met' if bmb_rate >= TARGET_RATE else 'NOT met'}")

    if not args.no_baseline:
        n, secs = _pandas_baseline(flows, work / "pandas")
        rate = n / secs
        print(
            f"\npandas read_fwf/read_csv + to_parquet (parse and store only): "
            f"{n:,} records in {secs:.1f} s = {rate:,.0f} records/s"
        )
        print(
            f"ratio BMB / pandas: {bmb_rate / rate:.2f}x "
            "(BMB also validates, pseudonymizes, maps to OMOP and commits)"
        )
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
