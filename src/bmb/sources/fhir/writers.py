"""Writing view rows: Parquet (zstd), CSV or NDJSON, chosen by the file extension.

Rows arrive as Arrow record batches and leave batch by batch, so memory stays
bounded whatever the input size. The file is written beside its final name and
renamed only when complete: a failed run never leaves a half-written output.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO, Protocol

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from bmb.domain.errors import UsageError

FORMATS = {".parquet": "parquet", ".csv": "csv", ".ndjson": "ndjson", ".jsonl": "ndjson"}


class BatchWriter(Protocol):
    """Receives the batches of one output."""

    def write(self, batch: pa.RecordBatch) -> None:
        """Append rows."""

    def close(self) -> None:
        """Finish the file (the caller then renames it into place)."""


class _Parquet:
    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self._writer = pq.ParquetWriter(path, schema, compression="zstd")

    def write(self, batch: pa.RecordBatch) -> None:
        self._writer.write_batch(batch)

    def close(self) -> None:
        self._writer.close()


def _flat(batch: pa.RecordBatch) -> pa.RecordBatch:
    """List columns as JSON text, for formats without lists (CSV)."""
    arrays = []
    fields = []
    for field, column in zip(batch.schema, batch.columns, strict=True):
        if pa.types.is_list(field.type):
            texts = [None if v is None else json.dumps(v) for v in column.to_pylist()]
            arrays.append(pa.array(texts, type=pa.string()))
            fields.append(pa.field(field.name, pa.string()))
        else:
            arrays.append(column)
            fields.append(field)
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields))


class _Csv:
    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self._path = path
        self._writer: pacsv.CSVWriter | None = None
        self._schema = _flat(_empty(schema)).schema

    def write(self, batch: pa.RecordBatch) -> None:
        if self._writer is None:
            self._writer = pacsv.CSVWriter(self._path, self._schema)
        self._writer.write_batch(_flat(batch))

    def close(self) -> None:
        if self._writer is None:
            self._writer = pacsv.CSVWriter(self._path, self._schema)
        self._writer.close()


def _empty(schema: pa.Schema) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays([pa.array([], type=f.type) for f in schema], schema=schema)


class _Ndjson:
    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self._handle: IO[str] = path.open("w", encoding="utf-8")

    def write(self, batch: pa.RecordBatch) -> None:
        for row in batch.to_pylist():
            self._handle.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")

    def close(self) -> None:
        self._handle.close()


def output_format(path: Path) -> str:
    """The format an output path asks for, or a usage error listing the choices."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise UsageError(
            f"--out {path}: unknown output format {path.suffix or '(no extension)'}",
            hint="use .parquet, .csv or .ndjson",
        )
    return fmt


class AtomicOutput:
    """An output file written under a temporary name and renamed when complete."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.path = path
        fmt = output_format(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = path.with_name(f".{path.name}.partial")
        self._writer: BatchWriter
        if fmt == "parquet":
            self._writer = _Parquet(self._tmp, schema)
        elif fmt == "csv":
            self._writer = _Csv(self._tmp, schema)
        else:
            self._writer = _Ndjson(self._tmp, schema)
        self.rows = 0

    def write(self, batch: pa.RecordBatch) -> None:
        """Append a batch."""
        self._writer.write(batch)
        self.rows += batch.num_rows

    def commit(self) -> None:
        """Close and move the file into place."""
        self._writer.close()
        os.replace(self._tmp, self.path)

    def abort(self) -> None:
        """Close and delete the partial file."""
        try:
            self._writer.close()
        finally:
            self._tmp.unlink(missing_ok=True)
