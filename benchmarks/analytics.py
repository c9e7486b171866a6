"""Benchmark: the planning analytics on a whole region (issue 6 targets).

Targets on 2 cores, for the whole synthetic region (1.5 million residents):
registry + comorbidity indices + risk pyramid + risk scoring in at most 3 minutes;
training one risk model in at most 10 minutes; peak memory at most 8 GB.

    python -m benchmarks.analytics --lake DIR [--replicate K] [--memory-limit 4GB]

``--lake`` is an ingested lake (e.g. ``bmb synth --persons 300000`` + ``bmb ingest``).
``--replicate K`` runs on K copies of the lake's person-level tables, each copy's ids
moved to their own range (``id XOR k << 59``): a region K times as large with the same
distribution, for when the disk cannot hold the flows of the full region (1.5 M
residents need about 75 GB of flows and landing). The copies are written as Parquet in
a temporary folder and shadow the lake's tables in the session; the vocabulary is the
lake's.

The steps are the planning pipeline on one reference date (31 December of the last
year): population, registry, comorbidity, pyramid, then risk scoring reusing their
tables. Training builds its own features for two years and fits LightGBM. On a replica,
early stopping cannot work (each person has K exact copies, so the held-out fifth is
memorized and the validation loss never stops falling); the model is therefore first
trained on the lake itself, with early stopping, and the replica then grows the same
number of trees: the same work at K times the rows.

The peer: no open implementation of the registry, the pyramid or the risk pipeline
exists (the ACG system is proprietary). For the comorbidity index, comorbidipy 0.5.0
(pandas) scores the same residents' diagnoses; both times and the ratio are printed.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

REPLICATED = {
    "person": ("person_id",),
    "observation_period": ("person_id", "observation_period_id"),
    "death": ("person_id",),
    "visit_occurrence": ("person_id", "visit_occurrence_id"),
    "condition_occurrence": ("person_id", "visit_occurrence_id", "condition_occurrence_id"),
    "drug_exposure": ("person_id", "visit_occurrence_id", "drug_exposure_id"),
    "procedure_occurrence": ("person_id", "visit_occurrence_id", "procedure_occurrence_id"),
    "measurement": ("person_id", "visit_occurrence_id", "measurement_id"),
    "observation": ("person_id", "visit_occurrence_id", "observation_id"),
}


def replicate(engine: Any, copies: int, folder: Path) -> None:
    """Write ``copies`` id-shifted copies of each person table and shadow the originals."""
    for table, ids in REPLICATED.items():
        parts = []
        for k in range(copies):
            shift = ", ".join(f"xor({c}, {k << 59}) AS {c}" for c in ids)
            parts.append(f"SELECT * REPLACE ({shift}) FROM main.{table}")
        path = folder / f"{table}.parquet"
        engine.execute(
            f"COPY ({' UNION ALL '.join(parts)}) TO '{path}' (FORMAT parquet, "
            "COMPRESSION zstd, ROW_GROUP_SIZE 500000)"
        )
        engine.execute(
            f"CREATE OR REPLACE TEMPORARY VIEW {table} AS SELECT * FROM read_parquet('{path}')"
        )


class Clock:
    """Wall and CPU seconds of each step (CPU shows the work when the machine is shared)."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, float, float]] = []

    def run(self, name: str, fn: Callable[[], Any]) -> Any:
        w, c = time.perf_counter(), time.process_time()
        out = fn()
        self.rows.append((name, time.perf_counter() - w, time.process_time() - c))
        print(
            f"  {name:<44} {self.rows[-1][1]:>8.1f} s wall {self.rows[-1][2]:>8.1f} s CPU"
            f"   peak so far {peak_mb():>7,.0f} MB",
            flush=True,
        )
        return out

    def total(self, names: tuple[str, ...]) -> tuple[float, float]:
        rows = [r for r in self.rows if r[0] in names]
        return sum(r[1] for r in rows), sum(r[2] for r in rows)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def comorbidipy_peer(engine: Any, year: int, sample: int) -> tuple[float, int, int, int] | None:
    """comorbidipy on the inpatient diagnoses of ``sample`` residents.

    Returns its seconds, the residents with codes it scored, their codes, and how many
    residents of the whole region have codes (to extrapolate the peer's time to them).
    """
    try:
        from tests.domain.test_comorbidity import _comorbidipy

        reference = _comorbidipy()
    except Exception as exc:  # the peer is a dev dependency
        print(f"  comorbidipy not available ({exc}); peer skipped")
        return None
    df = engine.query(
        f"""
        WITH p AS (SELECT person_id FROM person USING SAMPLE {sample} ROWS)
        SELECT co.person_id AS id, replace(co.condition_source_value, '.', '') AS code
        FROM condition_occurrence co JOIN visit_occurrence v USING (visit_occurrence_id)
        WHERE v.visit_concept_id = 9201 AND co.person_id IN (SELECT person_id FROM p)
          AND co.condition_start_date > DATE '{year}-12-31' - 365
          AND co.condition_start_date <= DATE '{year}-12-31'
        """
    ).to_pandas()
    everyone = (
        engine.query(
            f"""
        SELECT count(DISTINCT co.person_id) FROM condition_occurrence co
        JOIN visit_occurrence v USING (visit_occurrence_id)
        WHERE v.visit_concept_id = 9201
          AND co.condition_start_date > DATE '{year}-12-31' - 365
          AND co.condition_start_date <= DATE '{year}-12-31'
        """
        )
        .column(0)[0]
        .as_py()
    )
    t = time.perf_counter()
    reference.comorbidity(
        df, score="charlson", icd="icd9", variant="quan", weighting="charlson", age=None
    )
    reference.comorbidity(
        df, score="elixhauser", icd="icd9", variant="quan", weighting="vw", age=None
    )
    return time.perf_counter() - t, int(df["id"].nunique()), len(df), int(everyone)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--lake", type=Path, required=True)
    ap.add_argument("--replicate", type=int, default=1)
    ap.add_argument("--memory-limit", default="4GB")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--year", type=int, default=None, help="Reference year (default: last).")
    args = ap.parse_args()

    from bmb.analytics.comorbidity import build_comorbidity
    from bmb.analytics.population import PopulationSpec, build_population
    from bmb.analytics.registry import build_registry
    from bmb.analytics.risk import Outcome, train_risk_model
    from bmb.analytics.risk.features import Reuse
    from bmb.analytics.risk.score import score_person, score_population
    from bmb.analytics.stratification import build_stratification
    from bmb.engines.lake import open_lake

    engine = open_lake(args.lake, threads=args.threads, memory_limit=args.memory_limit)
    work = Path(tempfile.mkdtemp(prefix="bmb-bench-analytics-"))
    engine.execute(f"SET temp_directory = '{work / 'spill'}'")
    clock = Clock()
    try:
        last = engine.query("SELECT max(observation_period_end_date) FROM observation_period")
        end = last.column(0)[0].as_py()
        year = args.year or (end.year if (end.month, end.day) == (12, 31) else end.year - 1)
        trees = None
        if args.replicate > 1:
            small = clock.run(
                f"train on the lake itself, early stopping ({year - 2} -> {year - 1})",
                lambda: train_risk_model(engine, Outcome.ADMISSION, year - 2),
            )
            trees = small.model.boosted.trees
            clock.run(
                f"replicate the lake x{args.replicate} (setup)",
                lambda: replicate(engine, args.replicate, work),
            )
        persons = engine.query("SELECT count(*) FROM person").column(0)[0].as_py()
        print(
            f"BMB planning analytics: {persons:,} persons, reference 31 December {year}, "
            f"{args.threads} threads, DuckDB memory limit {args.memory_limit}"
        )
        spec = PopulationSpec.years([year])
        pop = clock.run("population base", lambda: build_population(engine, spec))
        reg = clock.run(
            "registry (18 conditions)", lambda: build_registry(engine, spec, population=pop)
        )
        cmb = clock.run(
            "comorbidity (Charlson + Elixhauser)",
            lambda: build_comorbidity(engine, spec, population=pop),
        )
        strat = clock.run(
            "risk pyramid + resource bands",
            lambda: build_stratification(engine, spec, registry=reg),
        )
        label = f"train one model (admission, {year - 2} -> {year - 1})"
        if trees is not None:
            label += f", {trees} trees"
        run = clock.run(
            label, lambda: train_risk_model(engine, Outcome.ADMISSION, year - 2, trees=trees)
        )
        reuse = Reuse(pop, reg.table, cmb.table, strat.utilization)
        scores = clock.run(
            "risk scoring (every resident)",
            lambda: score_population(engine, run.model, date(year, 12, 31), reuse=reuse),
        )
        pid = int(scores.column("person_id")[0].as_py())
        clock.run(
            "score one person on demand",
            lambda: score_person(engine, run.model, pid, date(year, 12, 31)),
        )
        peer = comorbidipy_peer(engine, year, 50_000)
    finally:
        engine.close()
        shutil.rmtree(work, ignore_errors=True)

    steps = (
        "population base",
        "registry (18 conditions)",
        "comorbidity (Charlson + Elixhauser)",
        "risk pyramid + resource bands",
        "risk scoring (every resident)",
    )
    wall, cpu = clock.total(steps)
    train = next(r for r in clock.rows if r[0].startswith("train one model"))
    first = next((r for r in clock.rows if r[0].startswith("train on the lake itself")), None)
    v = run.model.validation["lightgbm"]
    print()
    print(
        f"registry + comorbidity + pyramid + scoring: {wall:.1f} s wall, {cpu:.1f} s CPU "
        f"(target 180 s)"
    )
    print(
        f"training one model: {train[1]:.1f} s wall, {train[2]:.1f} s CPU (target 600 s); "
        f"{run.model.train_n:,} residents, {run.model.boosted.trees} trees, validation AUC "
        f"{v.auc.value:.3f}"
    )
    if first is not None:
        print(
            f"(the same model on the lake itself, before replicating: {first[1]:.1f} s wall, "
            f"{first[2]:.1f} s CPU; on a replica the validation AUC is flattered by the copies)"
        )
    print(f"peak memory (RSS, this process with DuckDB): {peak_mb():,.0f} MB (target 8192 MB)")
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if peer is not None:
        secs, n, codes, everyone = peer
        ours = next(r for r in clock.rows if r[0].startswith("comorbidity"))[1]
        peer_all = secs / max(n, 1) * everyone
        print(
            f"peer comorbidipy 0.5.0 (pandas): {n:,} residents with {codes:,} codes in "
            f"{secs:.2f} s; extrapolated to the {everyone:,} residents with codes: "
            f"{peer_all:.1f} s, on diagnoses already extracted"
        )
        print(
            f"BMB comorbidity, from the CDM, every resident: {ours:.1f} s; "
            f"peer/BMB ratio {peer_all / max(ours, 1e-9):.2f}"
        )


if __name__ == "__main__":
    main()
