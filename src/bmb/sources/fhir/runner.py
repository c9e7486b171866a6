"""Running a view over many resources: path choice, streaming, both cores, output.

``path="auto"`` compiles the view to DuckDB SQL when the compiler accepts it and
otherwise falls back to the reference path, saying why; ``compiled`` insists (a
declined view is an error) and ``reference`` forces the reference path. The compiled
path reads NDJSON with DuckDB's parallel reader (threads = cores); the reference path
spreads chunks of lines over worker processes. Either way rows stream out in Arrow
batches, so memory stays bounded, and :func:`evaluate_batches` offers the same over
an in-memory stream of resources (the pipeline's entry point).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from bmb.domain.errors import UsageError
from bmb.domain.progress import NullProgress, Progress
from bmb.sources.fhir.column_types import schema as view_schema
from bmb.sources.fhir.column_types import to_batch
from bmb.sources.fhir.errors import FhirInputError, FhirPathError
from bmb.sources.fhir.ndjson import (
    first_bad_line,
    is_ndjson,
    iter_chunks,
    iter_resources,
    parse_line,
)
from bmb.sources.fhir.reference import ReferenceRunner
from bmb.sources.fhir.sql import CompiledView, Declined, compile_view, resources_table
from bmb.sources.fhir.sql.expr import quote
from bmb.sources.fhir.viewdef import ViewDefinition, parse_view
from bmb.sources.fhir.writers import AtomicOutput

PATHS = ("auto", "compiled", "reference")
BATCH_ROWS = 65_536
CHUNK_LINES = 5_000
MEMORY_LIMIT = "4GB"


@dataclass(frozen=True, slots=True)
class RunSummary:
    """What a run did: which path, why, how much, how fast."""

    path: str
    reason: str
    files: int
    bytes: int
    rows: int
    seconds: float


def choose(view: ViewDefinition, path: str) -> tuple[CompiledView | None, str]:
    """The compiled view (or None for the reference path) and the reason for the choice."""
    if path not in PATHS:
        raise UsageError(f"--path {path}: choose one of {', '.join(PATHS)}")
    if path == "reference":
        return None, "reference path requested"
    try:
        compiled = compile_view(view)
    except Declined as exc:
        if path == "compiled":
            raise UsageError(
                f"ViewDefinition {view.name or view.resource}: the compiler declines it: {exc}",
                hint="run it with --path reference or --path auto",
            ) from None
        return None, f"compiler declined: {exc}"
    return compiled, "compiled to DuckDB SQL"


def _conform(table: pa.Table, target: pa.Schema) -> Iterator[pa.RecordBatch]:
    yield from table.cast(target).to_batches(max_chunksize=BATCH_ROWS)


def _connect(threads: int) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"SET threads = {max(1, threads)}")
    # Views stream: they need little memory; the cap keeps a shared machine safe.
    con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    con.execute("SET preserve_insertion_order = false")
    con.execute("SET enable_progress_bar = false")
    return con


def _duck_error(exc: duckdb.Error) -> FhirPathError:
    text = str(exc).split("\n")[0]
    for prefix in ("Invalid Input Error: ", "Conversion Error: "):
        text = text.removeprefix(prefix)
    return FhirPathError(text)


# -- the compiled path -------------------------------------------------------------------
class _MixedTypes(Exception):  # noqa: N818 - a signal to the runner, never shown
    """The typed reader met a record of another shape: rerun with the lenient reader."""


def _compiled_files(
    compiled: CompiledView, files: list[Path], threads: int, target: pa.Schema, lenient: bool
) -> Iterator[pa.RecordBatch]:
    con = _connect(threads)
    names = [str(f) for f in files]
    query = compiled.over_mixed_files(names) if lenient else compiled.over_files(names)
    try:
        for batch in con.sql(query).to_arrow_reader(BATCH_ROWS):
            yield from _conform(pa.Table.from_batches([batch]), target)
    except duckdb.Error as exc:
        for path in files:  # name the file and line of a malformed record
            bad = first_bad_line(path)
            if bad is not None:
                raise bad from None
        if not lenient and "transform error" in str(exc).lower():
            raise _MixedTypes(str(exc)) from None
        raise _duck_error(exc) from None
    finally:
        con.close()


def _compiled_resources(
    compiled: CompiledView, resources: Iterable[dict[str, Any]], threads: int, target: pa.Schema
) -> Iterator[pa.RecordBatch]:
    con = _connect(threads)
    try:
        chunk: list[dict[str, Any]] = []
        for resource in resources:
            chunk.append(resource)
            if len(chunk) >= BATCH_ROWS:
                yield from _compiled_chunk(con, compiled, chunk, target)
                chunk = []
        if chunk:
            yield from _compiled_chunk(con, compiled, chunk, target)
    finally:
        con.close()


def _compiled_chunk(
    con: duckdb.DuckDBPyConnection,
    compiled: CompiledView,
    chunk: list[dict[str, Any]],
    target: pa.Schema,
) -> Iterator[pa.RecordBatch]:
    table = resources_table(chunk)
    try:
        con.register("_bmb_chunk", table)
        result = con.sql(compiled.over_json("_bmb_chunk")).to_arrow_table()
    except duckdb.Error as exc:
        raise _duck_error(exc) from None
    finally:
        con.unregister("_bmb_chunk")
    yield from _conform(result, target)


# -- the reference path ------------------------------------------------------------------
_VIEWS: dict[str, tuple[ReferenceRunner, pa.Schema]] = {}


def _worker_view(view_json: str) -> tuple[ReferenceRunner, pa.Schema]:
    if view_json not in _VIEWS:
        view = parse_view(json.loads(view_json, parse_float=Decimal))
        _VIEWS[view_json] = (ReferenceRunner(view), view_schema(view))
    return _VIEWS[view_json]


def _reference_chunk(view_json: str, path: str, first: int, lines: list[str]) -> pa.RecordBatch:
    """Evaluate a chunk of NDJSON lines (runs in a worker process)."""
    runner, target = _worker_view(view_json)
    resources = (parse_line(text, path, first + i) for i, text in enumerate(lines))
    return to_batch(runner.view, list(runner.tuples(resources)), target)


def _view_json(view: ViewDefinition) -> str:
    return json.dumps(view.source, default=lambda d: float(d) if isinstance(d, Decimal) else str(d))


def _reference_files(
    view: ViewDefinition, files: list[Path], workers: int
) -> Iterator[pa.RecordBatch]:
    view_json = _view_json(view)
    ndjson = [f for f in files if is_ndjson(f)]
    others = [f for f in files if not is_ndjson(f)]
    if others:
        runner, target = _worker_view(view_json)
        resources = (r for f in others for r in iter_resources(f))
        yield from _reference_stream(runner, target, resources)
    if not ndjson:
        return
    chunks = (
        (str(f), first, lines) for f in ndjson for first, lines in iter_chunks(f, CHUNK_LINES)
    )
    if workers <= 1:
        for path, first, lines in chunks:
            yield _reference_chunk(view_json, path, first, lines)
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        pending: deque[Future[pa.RecordBatch]] = deque()
        for path, first, lines in chunks:
            pending.append(pool.submit(_reference_chunk, view_json, path, first, lines))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _reference_stream(
    runner: ReferenceRunner, target: pa.Schema, resources: Iterable[dict[str, Any]]
) -> Iterator[pa.RecordBatch]:
    rows: list[tuple[Any, ...]] = []
    for row in runner.tuples(iter(resources)):
        rows.append(row)
        if len(rows) >= BATCH_ROWS:
            yield to_batch(runner.view, rows, target)
            rows = []
    if rows:
        yield to_batch(runner.view, rows, target)


# -- entry points ------------------------------------------------------------------------
def evaluate_batches(
    view: ViewDefinition,
    resources: Iterable[dict[str, Any]],
    *,
    path: str = "auto",
    threads: int = 2,
) -> Iterator[pa.RecordBatch]:
    """Rows of ``view`` over a stream of resources, as Arrow batches of the view's schema."""
    compiled, _ = choose(view, path)
    target = view_schema(view)
    if compiled is not None:
        yield from _compiled_resources(compiled, resources, threads, target)
    else:
        yield from _reference_stream(ReferenceRunner(view), target, resources)


def expand_inputs(view: ViewDefinition, paths: list[Path]) -> list[Path]:
    """Files to read: folders become their FHIR files, the view's resource type first.

    A Bulk Data export names files by resource type (``Patient.ndjson``,
    ``Patient.001.ndjson.gz``); in a folder, those of the view's type are taken when
    there are any, so a Patient view does not scan the Observations.
    """
    files: list[Path] = []
    for path in paths:
        if not path.is_dir():
            files.append(path)
            continue
        found = sorted(
            p
            for p in path.iterdir()
            if p.is_file() and (is_ndjson(p) or p.name.lower().endswith((".json", ".json.gz")))
        )
        typed = [p for p in found if p.name.split(".")[0] == view.resource]
        files.extend(typed or found)
    if not files:
        raise FhirInputError(f"{', '.join(map(str, paths))}: no FHIR files (.ndjson, .json) found")
    return files


def run_view(
    view: ViewDefinition,
    inputs: list[Path],
    out: Path,
    *,
    path: str = "auto",
    workers: int | None = None,
    progress: Progress | None = None,
) -> RunSummary:
    """Evaluate ``view`` over NDJSON/Bundle files and write the rows to ``out``."""
    progress = progress or NullProgress()
    workers = workers or os.cpu_count() or 1
    inputs = expand_inputs(view, inputs)
    missing = [p for p in inputs if not p.is_file()]
    if missing:
        raise FhirInputError(f"{missing[0]}: file not found")
    compiled, reason = choose(view, path)
    target = view_schema(view)
    size = sum(p.stat().st_size for p in inputs)
    started = time.perf_counter()
    progress.start("rows written")
    try:
        rows = _write(view, compiled, inputs, out, target, workers, progress, lenient=False)
    except _MixedTypes:
        reason += "; input files mix resource types, read with the lenient reader"
        rows = _write(view, compiled, inputs, out, target, workers, progress, lenient=True)
    progress.finish("rows written")
    elapsed = time.perf_counter() - started
    chosen = "compiled" if compiled is not None else "reference"
    return RunSummary(chosen, reason, len(inputs), size, rows, elapsed)


def file_batches(
    view: ViewDefinition,
    inputs: list[Path],
    *,
    path: str = "auto",
    workers: int | None = None,
    lenient: bool = False,
) -> Iterator[pa.RecordBatch]:
    """Rows of ``view`` over NDJSON/Bundle files, streamed as Arrow batches.

    ``lenient`` reads NDJSON files that mix resource types (slower); without it such a
    file stops the run with a conversion error naming the file and line.
    """
    compiled, _ = choose(view, path)
    yield from _batches(
        view, compiled, inputs, view_schema(view), workers or os.cpu_count() or 1, lenient=lenient
    )


def _batches(
    view: ViewDefinition,
    compiled: CompiledView | None,
    inputs: list[Path],
    target: pa.Schema,
    workers: int,
    *,
    lenient: bool,
) -> Iterator[pa.RecordBatch]:
    if compiled is None:
        yield from _reference_files(view, inputs, workers)
        return
    ndjson = [p for p in inputs if is_ndjson(p)]
    if ndjson:
        yield from _compiled_files(compiled, ndjson, workers, target, lenient)
    bundled = [p for p in inputs if not is_ndjson(p)]
    if bundled:
        resources = (r for p in bundled for r in iter_resources(p))
        yield from _compiled_resources(compiled, resources, workers, target)


class _QueryProgress:
    """Relays DuckDB's own progress of a running statement to the Progress port."""

    def __init__(self, con: duckdb.DuckDBPyConnection, progress: Progress, task: str) -> None:
        self._con, self._progress, self._task = con, progress, task
        self._done = threading.Event()
        self._shown = 0.0
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> _QueryProgress:
        self._progress.start(self._task, total=100)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()
        if exc[0] is None:
            self._progress.advance(self._task, 100 - self._shown)
            self._progress.finish(self._task)

    def _poll(self) -> None:
        while not self._done.wait(0.25):
            percent = self._con.query_progress()
            if percent > self._shown:
                self._progress.advance(self._task, percent - self._shown)
                self._shown = percent


def _copy_parquet(
    compiled: CompiledView,
    files: list[Path],
    out: Path,
    threads: int,
    progress: Progress,
    *,
    lenient: bool,
) -> int:
    """Compiled view over NDJSON straight to Parquet by DuckDB (parallel, zstd)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.partial")
    names = [str(f) for f in files]
    query = compiled.over_mixed_files(names) if lenient else compiled.over_files(names)
    con = _connect(threads)
    # DuckDB tracks progress only with its bar on; it prints nothing with print off.
    con.execute("SET enable_progress_bar = true")
    con.execute("SET enable_progress_bar_print = false")
    try:
        with _QueryProgress(con, progress, "reading FHIR (%)"):
            result = con.execute(
                f"COPY ({query}) TO {quote(str(tmp))} (FORMAT parquet, COMPRESSION zstd)"
            ).fetchone()
    except duckdb.Error as exc:
        tmp.unlink(missing_ok=True)
        for path in files:
            bad = first_bad_line(path)
            if bad is not None:
                raise bad from None
        if not lenient and "transform error" in str(exc).lower():
            raise _MixedTypes(str(exc)) from None
        raise _duck_error(exc) from None
    finally:
        con.close()
    os.replace(tmp, out)
    return int(result[0]) if result else 0


def _write(
    view: ViewDefinition,
    compiled: CompiledView | None,
    inputs: list[Path],
    out: Path,
    target: pa.Schema,
    workers: int,
    progress: Progress,
    *,
    lenient: bool,
) -> int:
    if compiled is not None and out.suffix.lower() == ".parquet" and all(map(is_ndjson, inputs)):
        rows = _copy_parquet(compiled, inputs, out, workers, progress, lenient=lenient)
        progress.advance("rows written", rows)
        return rows
    output = AtomicOutput(out, target)
    try:
        for batch in _batches(view, compiled, inputs, target, workers, lenient=lenient):
            output.write(batch)
            progress.advance("rows written", batch.num_rows)
    except BaseException:
        output.abort()
        raise
    output.commit()
    return output.rows
