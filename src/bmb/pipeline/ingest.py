"""``bmb ingest``: flow and FHIR files into the lake, one atomic batch at a time.

The road (DESIGN.md): land the bytes, parse and validate, pseudonymize, map to the
CDM, commit. Flow files are grouped by flow and period; the registry goes first so that
the residents are known before their care arrives. FHIR files (Bundles, Bulk Data
NDJSON) come after the flows, in batches by size (``bmb.pipeline.fhir``), so that a
Patient with a fiscal code meets the person the registry made. A file already landed
by a committed batch is skipped and reported: running the same ingestion twice
changes nothing.
"""

from __future__ import annotations

import datetime as dt
import shutil
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from bmb.domain import vocab
from bmb.domain.errors import UsageError
from bmb.domain.flows import FLOWS, LAYOUTS
from bmb.domain.progress import NullProgress, Progress
from bmb.lake.store import BatchRecord, Lake, all_tables, new_batch_id
from bmb.lake.views import attach_snapshot, files_select
from bmb.pipeline import fhir
from bmb.pipeline.batch import Batch
from bmb.pipeline.finalize import finalize, reset_work_tables
from bmb.pipeline.landing import (
    FhirFile,
    LandedFile,
    SourceFile,
    discover,
    land,
    sha256_of,
    split_fhir,
)
from bmb.pipeline.maps import MAPPERS
from bmb.pipeline.maps.common import HASH_63_MACRO

if TYPE_CHECKING:
    import duckdb

#: Ingestion order: who the residents are first, then the flows that also describe a
#: person (sex, birth), then those that only name one (deaths, exemptions, labs).
#: FHIR files follow all the flows.
FLOW_ORDER = ("registry", "sdo", "emur", "outpatient", "pharmacy", "deaths", "exemptions", "labs")


@dataclass
class BatchSummary:
    flow: str
    period: str
    lake_snapshot_id: int
    records_in: int
    records_quarantined: int
    records_control: int
    rows_out: dict[str, int]
    quarantined_by_reason: dict[str, int]
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)  # step -> seconds
    unsupported: dict[str, int] = field(default_factory=dict)  # FHIR type -> records


@dataclass
class IngestReport:
    batches: list[BatchSummary] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # already ingested
    unsupported: list[str] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def records_in(self) -> int:
        return sum(b.records_in for b in self.batches)

    @property
    def records_quarantined(self) -> int:
        return sum(b.records_quarantined for b in self.batches)

    @property
    def unsupported_resources(self) -> dict[str, int]:
        """FHIR resources of types BMB does not map, by type (control records)."""
        total: dict[str, int] = {}
        for b in self.batches:
            for rtype, n in b.unsupported.items():
                total[rtype] = total.get(rtype, 0) + n
        return dict(sorted(total.items(), key=lambda kv: (-kv[1], kv[0])))


def _setup(con: duckdb.DuckDBPyConnection, lake: Lake) -> None:
    """Macros, the code map and the sets of already-known ids, for the whole run."""
    con.execute(HASH_63_MACRO)
    snap = lake.current()
    attach_snapshot(con, lake, snap, bmb_tables=("ingestion_ledger", "person_key"))
    # Codes -> (source concept, standard concept). OHDSI ids (below the local base) win
    # over BMB's local concepts for the same code once a vocabulary is loaded.
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _code_map AS "
        "SELECT c.vocabulary_id, c.concept_code AS code, c.concept_id AS source_concept_id, "
        "coalesce(m.target, CASE WHEN c.standard_concept = 'S' THEN c.concept_id END, 0) "
        "AS concept_id, c.domain_id FROM concept c LEFT JOIN (SELECT concept_id_1, "
        "min(concept_id_2) AS target FROM concept_relationship WHERE relationship_id = 'Maps to' "
        "GROUP BY 1) m ON m.concept_id_1 = c.concept_id "
        "WHERE c.vocabulary_id IN ('ICD9CM', 'ICD9Proc', 'ICD10', 'ATC', 'AIC', 'LOINC', "
        "'IT_CATALOGUE', 'IT_EXEMPTION', 'UCUM', 'BMB', 'SNOMED', 'RxNorm', 'CVX', 'ICD10CM', "
        "'NDC') "
        "QUALIFY row_number() OVER (PARTITION BY c.vocabulary_id, c.concept_code "
        "ORDER BY c.concept_id >= 2000000000, c.concept_id) = 1"
    )
    drugs = vocab.drugs()
    con.register(
        "_aic_arrow",
        pa.table(
            {
                "aic": [d.aic for d in drugs],
                "pack_units": [d.pack_units for d in drugs],
                "ddd_per_pack": [d.ddd_per_pack for d in drugs],
            }
        ),
    )
    con.execute("CREATE OR REPLACE TEMP TABLE _aic AS SELECT * FROM _aic_arrow")
    con.execute("CREATE OR REPLACE TEMP TABLE _known_persons AS SELECT person_id FROM person")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _known_keys AS SELECT person_id, "
        "pseudonym FROM bmb.person_key"
    )
    con.execute("CREATE OR REPLACE TEMP TABLE _known_providers AS SELECT provider_id FROM provider")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _known_care_sites AS SELECT care_site_id FROM care_site"
    )


def group_units(
    files: list[SourceFile], batch_bytes: int
) -> list[tuple[str, str, list[SourceFile]]]:
    """Batches: a flow's consecutive months together, up to ``batch_bytes`` of input.

    A month is never split (its header and detail files must meet), and a batch is one
    flow. Small flows then commit once per run instead of once per month, which keeps
    Iceberg's per-commit cost off the records.
    """
    by_month: dict[tuple[str, str], list[SourceFile]] = defaultdict(list)
    for f in files:
        by_month[(f.flow, f.period)].append(f)
    out: list[tuple[str, str, list[SourceFile]]] = []
    for flow in FLOW_ORDER:
        current: list[SourceFile] = []
        size = 0
        first = ""
        for (fl, period), month in sorted(by_month.items()):
            if fl != flow:
                continue
            month_size = sum(f.path.stat().st_size for f in month)
            if current and size + month_size > batch_bytes:
                out.append((flow, first, current))
                current, size = [], 0
            if not current:
                first = period
            current += month
            size += month_size
        if current:
            out.append((flow, first, current))
    return out


def _landed_shas(lake: Lake) -> set[str]:
    decl = all_tables()["landing.source_file"]
    import duckdb

    con = duckdb.connect()
    rows = con.sql(
        f"SELECT file_sha256 FROM ({files_select(decl, lake.data_files('landing.source_file'))})"
    ).fetchall()
    con.close()
    return {str(r[0]) for r in rows}


def _period_end(period: str) -> str:
    year, month = int(period[:4]), int(period[4:])
    nxt = dt.date(year + (month == 12), month % 12 + 1, 1)
    return f"DATE '{nxt - dt.timedelta(days=1)}'"


def ingest(
    root: Path,
    paths: list[Path],
    *,
    key_file: Path | None = None,
    progress: Progress | None = None,
    threads: int | None = None,
    memory_limit: str = "3GB",
    batch_bytes: int = 256 << 20,
    compiled_cutter: bool = True,
) -> IngestReport:
    """Ingest the flow files under ``paths`` into the lake at ``root``.

    ``compiled_cutter=False`` cuts fixed-width files with the pure Python reference
    path even when the compiled cutter is built (same results; for comparisons).
    """
    import duckdb

    progress = progress or NullProgress()
    lake = Lake.open(root)
    key = lake.key(key_file)
    report = IngestReport()
    files, other = discover(paths)
    fhir_files, other = split_fhir(other)
    report.unsupported = [str(p) for p in other]
    if not files and not fhir_files and not other:
        raise UsageError("no files found under the given paths")
    with lake.writer_lock():
        report.recovered = lake.recover()
        landed_before = _landed_shas(lake)
        units = group_units(files, batch_bytes)
        # Open registry coverage is observed up to the end of the latest period ingested.
        coverage_end = _period_end(max(f.period for f in files)) if files else "current_date"
        total = sum(f.path.stat().st_size for f in files)
        total += sum(f.path.stat().st_size for f in fhir_files)
        progress.start("ingest", total)
        # Staged records still hold fiscal codes and names: when DuckDB spills them to
        # disk, it must be inside the restricted landing zone, never ./.tmp.
        spill = lake.paths.spill
        shutil.rmtree(spill, ignore_errors=True)  # left by a killed run
        spill.mkdir(mode=0o700, parents=True)
        config: dict[str, str | bool | int | float | list[str]] = {
            "memory_limit": memory_limit,
            "temp_directory": str(spill),
        }
        if threads:
            config["threads"] = threads
        con = duckdb.connect(config=config)
        _setup(con, lake)
        # The next batch's files are hashed and landed while this one is mapped: disk
        # work that releases the GIL. Landing early is harmless: the landing zone is
        # content-addressed, and a copy whose batch never commits is reused next run.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bmb-land") as lander:
            ahead = [lander.submit(_land_unit, lake, unit) for _, _, unit in units[:1]]
            for i, (flow, period, unit) in enumerate(units):
                t_wait = time.perf_counter()
                landed = ahead[i].result()
                land_wait = time.perf_counter() - t_wait
                if i + 1 < len(units):
                    ahead.append(lander.submit(_land_unit, lake, units[i + 1][2]))
                fresh = [lf for lf in landed.values() if lf.sha256 not in landed_before]
                report.skipped += [str(p) for p, lf in landed.items() if lf.sha256 in landed_before]
                if fresh:
                    summary = _run_batch(
                        con,
                        lake,
                        key,
                        flow,
                        period,
                        fresh,
                        land_wait,
                        coverage_end,
                        compiled_cutter,
                    )
                    report.batches.append(summary)
                    landed_before |= {lf.sha256 for lf in fresh}
                progress.advance("ingest", sum(f.path.stat().st_size for f in unit))
        fhir_units = fhir.group_fhir(fhir_files, batch_bytes)
        if fhir_units:
            fhir.setup_run(con)
        for fhir_unit in fhir_units:
            shas = {f.path: sha256_of(f.path) for f in fhir_unit}
            fresh_fhir: list[FhirFile] = []
            seen = set(landed_before)
            for f in fhir_unit:  # a file given twice (two copies) lands once
                if shas[f.path] in seen:
                    report.skipped.append(str(f.path))
                else:
                    seen.add(shas[f.path])
                    fresh_fhir.append(f)
            if fresh_fhir:
                summary = _run_fhir_batch(con, lake, key, fresh_fhir, shas, coverage_end)
                report.batches.append(summary)
                landed_before |= {shas[f.path] for f in fresh_fhir}
            progress.advance("ingest", sum(f.path.stat().st_size for f in fhir_unit))
        con.close()
        shutil.rmtree(spill, ignore_errors=True)
        progress.finish("ingest")
    return report


def _land_unit(lake: Lake, unit: list[SourceFile]) -> dict[Path, LandedFile]:
    """Hash and land a batch's files (a file already landed is not copied again)."""
    return {f.path: land(lake.paths, f, sha256_of(f.path)) for f in unit}


def _run_batch(
    con: duckdb.DuckDBPyConnection,
    lake: Lake,
    key: bytes,
    flow: str,
    period: str,
    files: list[LandedFile],
    land_wait: float,
    coverage_end: str,
    compiled_cutter: bool,
) -> BatchSummary:
    """One flow batch; ``land_wait`` is how long it waited for its files to be landed."""
    started = datetime.now(UTC)
    record = BatchRecord(new_batch_id(), "ingest", started, note=f"{flow} {period}")
    record.timings["land"] = land_wait
    b = Batch(lake, key, con, record, compiled_cutter=compiled_cutter)
    reset_work_tables(b)
    by_layout: dict[str, list[LandedFile]] = {name: [] for name in FLOWS[flow]}
    for lf in sorted(files, key=lambda x: (x.source.layout_name, x.source.period)):
        by_layout[lf.source.layout_name].append(lf)
    for name, landed in by_layout.items():
        b.stage(LAYOUTS[name], landed)
    MAPPERS[flow](b)
    summary = _finish(b, started, flow, period, coverage_end)
    b.release()
    return summary


def _run_fhir_batch(
    con: duckdb.DuckDBPyConnection,
    lake: Lake,
    key: bytes,
    files: list[FhirFile],
    shas: dict[Path, str],
    coverage_end: str,
) -> BatchSummary:
    """One FHIR batch: the files staged as resources, mapped, then the shared end."""
    started = datetime.now(UTC)
    record = BatchRecord(new_batch_id(), "ingest", started, note=f"fhir {len(files)} files")
    b = Batch(lake, key, con, record)
    reset_work_tables(b)
    landed: list[LandedFile] = []
    for f in files:
        with b.step("land"):
            landed.append(land(lake.paths, f, shas[f.path]))
    unsupported = fhir.map_fhir(b, landed)
    summary = _finish(b, started, "fhir", "", coverage_end)
    summary.unsupported = unsupported
    fhir.drop_batch_tables(con)
    return summary


def _finish(b: Batch, started: datetime, flow: str, period: str, coverage_end: str) -> BatchSummary:
    """The end every batch shares: quarantine, persons and periods, ledger, commit."""
    record = b.record
    b.quarantine()
    finalize(b, coverage_end)
    b.write_table("landing.source_file", b.landed_rows())
    b.finish_accounts()
    t_commit = time.perf_counter()
    snap = b.lake.commit(record, b.writes)
    timings = {**record.timings, "commit": time.perf_counter() - t_commit}
    b.con.execute("INSERT INTO _known_keys SELECT person_id, pseudonym FROM _new_person_keys")
    seconds = (datetime.now(UTC) - started).total_seconds()
    return BatchSummary(
        flow=flow,
        period=period,
        lake_snapshot_id=snap.lake_snapshot_id,
        records_in=record.records_in,
        records_quarantined=record.records_quarantined,
        records_control=record.records_control,
        rows_out=dict(record.rows_out),
        quarantined_by_reason=dict(record.quarantined_by_reason),
        seconds=seconds,
        timings=timings,
    )
