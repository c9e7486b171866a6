"""Benchmark: three cohorts on DuckDB, PostgreSQL and Spark over the same CDM.

    python -m benchmarks.cohorts --persons 1500000            # a scaled-up Eunomia
    python -m benchmarks.cohorts --lake ./bmb-lake             # the region's lake
    python -m benchmarks.cohorts --lake lake300k --replicate 5 # a 300k lake copied to 1.5M
    python -m benchmarks.cohorts --cdm-csv eunomia/GiBleed_5.3 --engines duckdb,postgres

The cohorts are the three kinds the issue names: a condition cohort with inclusion
rules (first GI bleed, adult, NSAID in the month before), a new-user drug cohort with
a continuous-exposure exit (celecoxib, 365 days of prior observation, no prior GI
bleed, exit at the end of exposure with a 30-day gap), and a visit-based cohort
(adult inpatient or emergency visits, all of them, exit the day after discharge).

On a lake the cohorts use the region's vocabulary (heart failure ICD-9-CM 428 with a
RAS agent, ATC C09, in the year before; new users of metformin, ATC A10BA02, with
diabetes; adult inpatient or emergency visits). Without a lake or CSV CDM the
benchmark builds one: Eunomia GiBleed's persons copied
with new ids (and dates shifted by up to a year per copy) until ``--persons`` is
reached, written as Parquet files like a lake snapshot's. DuckDB reads those files
through views (as ``bmb.engines.lake`` does), Spark registers the same files,
PostgreSQL gets the CDM with OHDSI's indexes (``bmb.engines.postgres_export``).
Each cohort runs ``--repeat`` times per engine; the best time is reported with the
ratios to DuckDB, and the cohort sizes must agree across engines.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

from bmb.analytics.cohort import generate_cohort
from bmb.domain.cohort import CohortDefinition
from bmb.domain.cohort import api as c

GIBLEED = (
    Path(__file__).resolve().parents[1] / ".." / "shared" / "fixtures" / "eunomia" / "GiBleed_5.3"
)
PG_DSN = os.environ.get("BMB_BENCH_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
TABLES = (
    "person",
    "observation_period",
    "condition_occurrence",
    "drug_exposure",
    "visit_occurrence",
)
VOCABULARY = ("concept", "concept_ancestor", "concept_relationship")
GI_BLEED, CELECOXIB, NSAIDS = 192671, 1118084, (1118084, 1124300, 1177480, 1115008)


def cohorts() -> list[CohortDefinition]:
    condition = (
        c.Cohort("GI bleed with recent NSAID (condition, inclusion rules)")
        .concept_set(0, "GI bleed", c.concept(GI_BLEED, descendants=True))
        .concept_set(1, "NSAIDs", *[c.concept(n, descendants=True) for n in NSAIDS])
        .entry(c.condition_occurrence(0, first=True), prior_days=365)
        .include("adult", c.demographics(age=c.gte(18)))  # type: ignore[arg-type]
        .include("NSAID in the 30 days before", c.at_least(1, c.drug_exposure(1), c.window(-30, 0)))
        .build()
    )
    drug = (
        c.Cohort("New users of celecoxib (drug, continuous exposure exit)")
        .concept_set(0, "celecoxib", c.concept(CELECOXIB, descendants=True))
        .concept_set(1, "GI bleed", c.concept(GI_BLEED, descendants=True))
        .entry(c.drug_exposure(0, first=True), prior_days=365)
        .include("no prior GI bleed", c.none(c.condition_occurrence(1), c.window(None, -1)))
        .exit_at_end_of_exposure(0, gap_days=30)
        .build()
    )
    visit = (
        c.Cohort("Adult inpatient or emergency visits (visit based)")
        .concept_set(0, "inpatient or ER", c.concept(9201), c.concept(9203), c.concept(262))
        .entry(c.visit_occurrence(0, age=c.gte(18)))
        .limit("all")
        .exit_after(1, counting_from="end_date")
        .build()
    )
    return [condition, drug, visit]


_ID_COLUMNS = {
    "observation_period_id",
    "condition_occurrence_id",
    "drug_exposure_id",
    "visit_occurrence_id",
    "preceding_visit_occurrence_id",
}


def _replicate(
    con: Any, source: str, name: str, copies: int, out: Path, *, shift: bool
) -> list[str]:
    """Write ``copies`` copies of a table with new person and event ids (and, with
    ``shift``, dates moved by up to a year per copy, birth years alike)."""
    from bmb.engines.cdm_load import cdm_table

    path = out / f"{name}.parquet"
    if name in VOCABULARY:
        con.execute(f"COPY (SELECT * FROM {source}) TO '{path}' (FORMAT parquet)")
        return [str(path)]
    available = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    cols = []
    for col in cdm_table(name).column_names:
        if col not in available:
            continue
        if col == "person_id":
            cols.append("person_id + k * 1000003 AS person_id")
        elif col in _ID_COLUMNS:
            cols.append(f"{col} + k * 1000000007 AS {col}")
        elif shift and col.endswith("_date"):
            cols.append(f"CAST({col} + shift AS DATE) AS {col}")
        elif shift and col.endswith("_datetime"):
            cols.append(f"{col} + to_days(shift) AS {col}")
        elif shift and col == "year_of_birth":
            cols.append("year_of_birth + CAST(shift / 365 AS INTEGER) AS year_of_birth")
        else:
            cols.append(col)
    select = (
        f"SELECT {', '.join(cols)} FROM {source} CROSS JOIN (SELECT range AS k, "
        f"CAST((range * 37) % 730 - 365 AS INTEGER) AS shift FROM range({copies})) r"
    )
    con.execute(
        f"COPY ({select} ORDER BY person_id) TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 122880)"
    )
    return [str(path)]


def build_scaled_cdm(persons: int, out: Path) -> dict[str, list[str]]:
    """Eunomia copied until at least ``persons`` persons, as Parquet files per table."""
    import duckdb

    from bmb.engines.cdm_load import cdm_table
    from bmb.sources.cdm_csv import read_cdm_csv

    data = read_cdm_csv(GIBLEED, tables=TABLES + VOCABULARY).tables
    copies = max(1, math.ceil(persons / data["person"].num_rows))
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(config={"threads": 2, "memory_limit": "6GB"})
    files: dict[str, list[str]] = {}
    for name in TABLES + VOCABULARY:
        con.register("src", cdm_table(name, data[name]))
        files[name] = _replicate(con, "src", name, copies, out, shift=True)
        con.unregister("src")
    con.close()
    return files


def replicate_lake(files: dict[str, list[str]], copies: int, out: Path) -> dict[str, list[str]]:
    """A lake snapshot's tables copied ``copies`` times (new ids, same dates)."""
    import duckdb

    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(config={"threads": 2, "memory_limit": "6GB"})
    result: dict[str, list[str]] = {}
    for name in TABLES + VOCABULARY:
        if name not in files:
            continue
        listing = ", ".join(f"'{f}'" for f in files[name])
        source = f"read_parquet([{listing}], union_by_name = true)"
        result[name] = _replicate(con, source, name, copies, out, shift=False)
    con.close()
    return result


def region_cohorts(files: dict[str, list[str]]) -> list[CohortDefinition]:
    """The three cohorts on the synthetic region's vocabulary (ICD-9-CM, ATC, AIC)."""
    import duckdb

    listing = ", ".join(f"'{f}'" for f in files["concept"])
    con = duckdb.connect()

    def concept(vocabulary: str, code: str) -> int:
        row = con.execute(
            f"SELECT concept_id FROM read_parquet([{listing}]) "
            "WHERE vocabulary_id = ? AND concept_code = ?",
            [vocabulary, code],
        ).fetchone()
        if row is None:
            raise SystemExit(f"the lake has no {vocabulary} concept {code}")
        return int(row[0])

    heart_failure, diabetes = concept("ICD9CM", "428"), concept("ICD9CM", "250")
    metformin, ace = concept("ATC", "A10BA02"), concept("ATC", "C09")
    con.close()
    condition = (
        c.Cohort("Heart failure, adult, on RAS agents (condition, inclusion rules)")
        .concept_set(0, "heart failure", c.concept(heart_failure, descendants=True))
        .concept_set(1, "RAS agents", c.concept(ace, descendants=True))
        .entry(c.condition_occurrence(0, first=True), prior_days=365)
        .include("adult", c.demographics(age=c.gte(18)))  # type: ignore[arg-type]
        .include(
            "RAS agent in the year before", c.at_least(1, c.drug_exposure(1), c.window(-365, 0))
        )
        .build()
    )
    drug = (
        c.Cohort("New users of metformin (drug, continuous exposure exit)")
        .concept_set(0, "metformin", c.concept(metformin, descendants=True))
        .concept_set(1, "diabetes", c.concept(diabetes, descendants=True))
        .entry(c.drug_exposure(0, first=True), prior_days=365)
        .include(
            "diabetes before or within 30 days",
            c.at_least(1, c.condition_occurrence(1), c.window(None, 30)),
        )
        .exit_at_end_of_exposure(0, gap_days=30)
        .build()
    )
    visit = (
        c.Cohort("Adult inpatient or emergency visits (visit based)")
        .concept_set(0, "inpatient or ER", c.concept(9201), c.concept(9203), c.concept(262))
        .entry(c.visit_occurrence(0, age=c.gte(18)))
        .limit("all")
        .exit_after(1, counting_from="end_date")
        .build()
    )
    return [condition, drug, visit]


def parquet_views(files: dict[str, list[str]]) -> Any:
    """A DuckDB engine whose CDM tables are views over Parquet files (the lake's way)."""
    import duckdb

    from bmb.domain.cdm import CDM_TABLES
    from bmb.engines.cdm_load import cdm_table
    from bmb.engines.duckdb_engine import DuckDBEngine

    con = duckdb.connect(config={"threads": 2, "memory_limit": "8GB"})
    engine = DuckDBEngine(con, label="duckdb")
    for name in CDM_TABLES:
        if name in files:
            listing = ", ".join(f"'{f}'" for f in files[name])
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet([{listing}])")
        else:
            engine.load_arrow(name, cdm_table(name), temporary=False)
    return engine


def postgres_engine(files: dict[str, list[str]], schema: str, reuse: bool) -> Any:
    import psycopg
    import pyarrow.parquet as pq

    from bmb.engines.postgres_engine import PostgresEngine
    from bmb.engines.postgres_export import export_cdm

    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", (schema,)
        ).fetchone()
    if not (exists and reuse):
        t0 = time.perf_counter()
        streams = {
            name: (b for f in paths for b in pq.ParquetFile(f).iter_batches(batch_size=500_000))
            for name, paths in files.items()
        }
        report = export_cdm(PG_DSN, schema, streams, replace=True, primary_keys=False)
        print(
            f"  PostgreSQL: {sum(report.rows.values()):,} rows loaded into {schema} with OHDSI "
            f"indexes in {time.perf_counter() - t0:.0f} s "
            f"({', '.join(f'{k} {v:.0f} s' for k, v in report.seconds.items())})",
            flush=True,
        )
    return PostgresEngine(PG_DSN, schema, work_mem="256MB")


def spark_engine(files: dict[str, list[str]]) -> Any:
    from bmb.domain.cdm import CDM_TABLES
    from bmb.engines.cdm_load import cdm_table
    from bmb.engines.spark_engine import SparkEngine

    engine = SparkEngine.local(cores=2, memory="6g")
    for name in CDM_TABLES:
        if name in files:
            engine.register_parquet(name, files[name])
        else:
            engine.load_arrow(name, cdm_table(name))
    return engine


def time_cohorts(
    engine: Any, definitions: list[CohortDefinition], repeat: int
) -> list[tuple[float, int]]:
    out = []
    for d in definitions:
        best, persons = math.inf, -1
        for _ in range(repeat):
            result = generate_cohort(engine, d)
            best = min(best, result.seconds)
            persons = result.persons
        out.append((best, persons))
        print(
            f"    {engine.dialect:8s} {best:8.2f} s  {persons:>10,} persons  {d.name}", flush=True
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--lake",
        type=Path,
        help="Run on a BMB lake's current snapshot (Spark and PostgreSQL from its data files).",
    )
    source.add_argument("--cdm-csv", type=Path, help="Run on an OMOP CDM in CSV form.")
    source.add_argument(
        "--persons",
        type=int,
        default=1_500_000,
        help="Persons of the generated CDM (default 1.5 million).",
    )
    parser.add_argument(
        "--work",
        type=Path,
        default=Path("bench-cohorts"),
        help="Where the generated Parquet files go.",
    )
    parser.add_argument("--engines", default="duckdb,postgres,spark")
    parser.add_argument("--pg-schema", default="bmb_bench_cohorts")
    parser.add_argument(
        "--reuse-pg", action="store_true", help="Keep an existing PostgreSQL schema."
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--replicate",
        type=int,
        default=1,
        help="With --lake: copy the lake's persons this many times (a 300k lake x5 = 1.5M).",
    )
    args = parser.parse_args(argv)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    definitions = cohorts()

    if args.lake is not None:
        from bmb.domain.cdm import CDM_TABLES
        from bmb.engines.lake import open_lake

        lake = open_lake(args.lake)
        # Spark and PostgreSQL read the same snapshot: its live Parquet data files.
        files = {}
        for name in CDM_TABLES:
            paths = lake.lake.data_files(f"cdm.{name}", lake.snapshot)
            if paths:
                files[name] = paths
        print(f"Lake {args.lake}, {lake.snapshot_label}: {len(files)} CDM tables", flush=True)
        if args.replicate > 1:
            t0 = time.perf_counter()
            files = replicate_lake(files, args.replicate, args.work)
            lake.close()
            runs = {}
            print(f"  copied {args.replicate} times in {time.perf_counter() - t0:.0f} s")
        else:
            runs = {"duckdb": lake}
        definitions = region_cohorts(files)
    else:
        t0 = time.perf_counter()
        if args.cdm_csv is not None:
            import pyarrow.parquet as pq

            from bmb.engines.cdm_load import cdm_table
            from bmb.sources.cdm_csv import read_cdm_csv

            args.work.mkdir(parents=True, exist_ok=True)
            data = read_cdm_csv(args.cdm_csv).tables
            files = {}
            for name, table in data.items():
                path = args.work / f"{name}.parquet"
                pq.write_table(cdm_table(name, table), path)
                files[name] = [str(path)]
        else:
            marker = args.work / f"persons-{args.persons}.done"
            if marker.exists():
                files = {p.stem: [str(p)] for p in args.work.glob("*.parquet")}
            else:
                files = build_scaled_cdm(args.persons, args.work)
                marker.write_text("ok\n")
        print(f"CDM ready in {args.work} ({time.perf_counter() - t0:.0f} s)", flush=True)
        runs = {}
    results: dict[str, list[tuple[float, int]]] = {}
    for name in engines:
        t0 = time.perf_counter()
        engine = runs.get(name)
        if engine is None:
            if name == "duckdb":
                engine = parquet_views(files)
            elif name == "postgres":
                engine = postgres_engine(files, args.pg_schema, args.reuse_pg)
            elif name == "spark":
                engine = spark_engine(files)
            else:
                print(f"unknown engine {name}", file=sys.stderr)
                return 2
        persons = engine.query("SELECT COUNT(*) AS n FROM person").column(0)[0].as_py()
        print(
            f"  {name}: ready in {time.perf_counter() - t0:.0f} s ({persons:,} persons)", flush=True
        )
        results[name] = time_cohorts(engine, definitions, args.repeat)
        if name == "spark":
            engine.stop()
        else:
            engine.close()

    print(
        "\nCohort                                                    "
        + "".join(f"{e:>11s}" for e in engines)
        + "".join(f"{e + '/duckdb':>17s}" for e in engines if e != "duckdb")
    )
    ok = True
    for i, d in enumerate(definitions):
        times = [results[e][i][0] for e in engines]
        line = f"{d.name[:56]:56s}  " + "".join(f"{t:>9.2f} s" for t in times)
        if "duckdb" in results:
            base = results["duckdb"][i][0]
            line += "".join(f"{results[e][i][0] / base:>16.1f}x" for e in engines if e != "duckdb")
        print(line)
        sizes = {results[e][i][1] for e in engines}
        if len(sizes) != 1:
            ok = False
            print(
                "  !! cohort sizes differ across engines: "
                + ", ".join(f"{e} {results[e][i][1]}" for e in engines)
            )
    if "duckdb" in results:
        worst = max(t for t, _ in results["duckdb"])
        print(
            f"\nTarget: DuckDB at most 2 s per cohort -> worst {worst:.2f} s: "
            + ("met" if worst <= 2 else "NOT met")
        )
        if "postgres" in results:
            ratios = [
                results["postgres"][i][0] / results["duckdb"][i][0] for i in range(len(definitions))
            ]
            print(
                f"Target: DuckDB at least 3x faster than PostgreSQL -> smallest ratio "
                f"{min(ratios):.1f}x: " + ("met" if min(ratios) >= 3 else "NOT met")
            )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
