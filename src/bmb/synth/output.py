"""The region's output files: appended in chunk order, hashed, written in the background.

Writing and hashing are a quarter of the work for a whole region (about 90 GB). Both
release Python's lock on large buffers, so one background thread does them while the
calling thread generates the next chunk or copies a worker's spill file: the bytes
reach each file in the order they were handed over, because one thread takes them
from one queue. Counts and fault line numbers are kept by the caller, synchronously.
"""

from __future__ import annotations

import hashlib
import mmap
import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pyarrow as pa

from bmb.domain.flows import LAYOUTS, file_name
from bmb.synth.chunk import ChunkResult
from bmb.synth.faults import Fault


@dataclass(slots=True)
class FileStat:
    path: str
    kind: str  # flow layout name, FHIR resource type, or truth
    records: int = 0
    size: int = 0  # bytes
    sha: hashlib._Hash = field(default_factory=hashlib.sha256)
    handle: IO[bytes] | None = None


class Output:
    """The flow and FHIR files of a region being generated."""

    def __init__(self, out: Path, region_code: str) -> None:
        self.out = out
        self.region_code = region_code
        self.files: dict[str, FileStat] = {}
        self.faults: list[dict[str, object]] = []
        self._queue: queue.Queue[tuple[FileStat, bytes | memoryview] | None] = queue.Queue(64)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name="bmb-synth-writer", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                self._queue.task_done()
                return
            try:
                if self._error is None:
                    self._write(*item)
            except BaseException as exc:  # handed to the caller at the next call
                self._error = exc
            finally:
                del item  # no reference to the bytes once they are reported done
                self._queue.task_done()

    @staticmethod
    def _write(st: FileStat, data: bytes | memoryview) -> None:
        assert st.handle is not None
        st.handle.write(data)
        st.sha.update(data)

    def _check(self) -> None:
        if self._error is not None:
            raise self._error

    def put(
        self,
        kind: str,
        name: str,
        year: int,
        month: int,
        data: bytes | memoryview,
        records: int,
        faults: Sequence[Fault],
    ) -> None:
        """A chunk's piece: flow records of one layout and month, or FHIR resources."""
        if kind == "fhir":
            self.append(f"fhir/{name}.ndjson", name, data, records)
            return
        rel = f"flows/{LAYOUTS[name].flow}/{file_name(name, self.region_code, year, month)}"
        before = self.append(rel, name, data, records)
        for f in faults:
            self.faults.append(
                {
                    "file": rel,
                    "line": before + f.line + 1,
                    "layout": name,
                    "field": f.field,
                    "kind": f.kind,
                    "reason": f.reason,
                }
            )

    def append(self, rel: str, kind: str, data: bytes | memoryview, records: int) -> int:
        """Queue bytes for a file; returns the number of records written before them."""
        self._check()
        st = self.files.get(rel)
        if st is None:
            st = self.files[rel] = FileStat(rel, kind)
            path = self.out / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            st.handle = path.open("wb")
        before = st.records
        st.records += records
        st.size += len(data)
        self._queue.put((st, data))
        return before

    def replay(self, result: ChunkResult) -> None:
        """Copy a worker's spill file into the outputs, in its order, then delete it."""
        if result.spill is None:
            return
        size = result.spill.stat().st_size
        with result.spill.open("rb") as f:
            mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else None
            try:
                view = memoryview(mm) if mm is not None else memoryview(b"")
                pieces = [view[e.offset : e.offset + e.length] for e in result.entries]
                for e, piece in zip(result.entries, pieces, strict=True):
                    self.put(e.kind, e.name, e.year, e.month, piece, e.records, e.faults)
                self.drain()  # the writer thread is done with the mapped bytes
                for piece in pieces:
                    piece.release()
                view.release()
            finally:
                if mm is not None:
                    mm.close()
        result.spill.unlink()

    def drain(self) -> None:
        """Wait until everything queued is written; raise the writer's error if any."""
        self._queue.join()
        self._check()

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        for st in self.files.values():
            if st.handle is not None:
                st.handle.close()
                st.handle = None
        self._check()


class TruthWriter:
    """Ground truth as Parquet, never meant for ingestion."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.writers: dict[str, object] = {}
        self.rows: dict[str, int] = {}

    def write(self, res: ChunkResult) -> None:
        import pyarrow.parquet as pq

        tables: tuple[tuple[str, pa.Table | None], ...] = (
            ("persons", res.truth_persons),
            ("person_years", res.truth_years),
        )
        for name, table in tables:
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
