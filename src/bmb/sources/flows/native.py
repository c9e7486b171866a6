"""Read a fixed-width flow file with the compiled cutter (``cutter.c``), via ctypes.

One pass in C splits a file into records, cuts and trims every field, and marks each
record *suspect* when any field check might fail; SQL then checks only the suspect
records (about one in two hundred in the synthetic region). Lines the C code does not
handle (non-ASCII or control characters) are decoded and cut here the reference way
(:mod:`bmb.sources.flows.lines`, :mod:`bmb.sources.flows.cut`), so the result is the
same table, row for row, as the reference path gives; tests hold the two together.

The halves of a large file are cut on two threads: ctypes releases the GIL during a
foreign call. When the library was not compiled (no C compiler at install time),
:func:`available` is false and callers use the reference path.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import itertools
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pyarrow as pa

from bmb.domain.flows.layout import Field, FieldType, Framing, Layout
from bmb.sources.flows.cut import cut_fixed

LIBRARY = Path(__file__).with_name("_cutter.so")

#: Records of one call to the C code at most: keeps Arrow's 32-bit offsets far from
#: overflowing and gives the threads several pieces of a big file.
CHUNK_BYTES = 256 << 20

#: Field check kinds, as in cutter.c.
_KIND = {
    FieldType.TEXT: 0,
    FieldType.CODE: 1,
    FieldType.INT: 2,
    FieldType.DATE: 5,
    FieldType.TIME: 6,
}
_K_DEC_SCALED, _K_DEC, _K_ALWAYS = 3, 4, 7
#: Kinds whose typed value the C code writes, as (Arrow type, numpy type).
_TYPED: dict[int, tuple[pa.DataType, type[np.generic]]] = {
    _KIND[FieldType.INT]: (pa.int64(), np.int64),
    _K_DEC_SCALED: (pa.float64(), np.float64),
    _KIND[FieldType.DATE]: (pa.date32(), np.int32),
    _KIND[FieldType.TIME]: (pa.time64("us"), np.int64),
}
_FORMAT_CODES = frozenset("YmdHMS")
_EPOCH = dt.date(1970, 1, 1)
#: The earliest plausible date (as in ``parse._checks``), in days since 1970.
_MIN_DAY = (dt.date(1880, 1, 1) - _EPOCH).days


class _Field(ctypes.Structure):
    _fields_ = (
        ("start", ctypes.c_int32),
        ("length", ctypes.c_int32),
        ("kind", ctypes.c_int32),
        ("required", ctypes.c_int32),
        ("fmt", ctypes.c_char_p),
        ("ncodes", ctypes.c_int32),
        ("codes", ctypes.c_void_p),
        ("code_offsets", ctypes.c_void_p),
        ("scale", ctypes.c_int32),
        ("offsets", ctypes.c_void_p),
        ("data", ctypes.c_void_p),
        ("valid", ctypes.c_void_p),
        ("typed", ctypes.c_void_p),
    )


@cache
def _library() -> ctypes.CDLL | None:
    if not LIBRARY.exists():
        return None
    lib = ctypes.CDLL(str(LIBRARY))
    p, i32, i64 = ctypes.c_void_p, ctypes.c_int32, ctypes.c_int64
    lib.bmb_count_lines.argtypes = (p, i64)
    lib.bmb_count_lines.restype = i64
    lib.bmb_cut.argtypes = (p, i64, i64, i32, p, i32, i32, i32, i32, p, p, p, p, p, p)
    lib.bmb_cut.restype = i64
    return lib


def available() -> bool:
    """Whether the compiled cutter was built and loads."""
    return _library() is not None


@dataclass(frozen=True, slots=True)
class FixedRecords:
    """A fixed-width file's records, cut: the table and the undecodable lines."""

    #: line_number, text, ``_v_<field>`` per field (trimmed, null when blank),
    #: ``_suspect`` (true when SQL must check the record), and ``_t_<field>`` for the
    #: :func:`typed_fields` (the typed value, meaningful where not suspect).
    table: pa.Table
    bad_encoding: tuple[tuple[int, str], ...]  # (line number, escaped text)

    @property
    def count(self) -> int:
        return int(self.table.num_rows) + len(self.bad_encoding)


def _kind(f: Field) -> int:
    if f.type is FieldType.DECIMAL:
        return _K_DEC_SCALED if f.scale else _K_DEC
    if f.type in (FieldType.DATE, FieldType.TIME):
        parts = f.fmt.split("%")[1:]
        if not f.fmt.isascii() or any(not p or p[0] not in _FORMAT_CODES for p in parts):
            return _K_ALWAYS  # a format the C code does not parse: SQL checks it
    return _KIND[f.type]


@dataclass(frozen=True, slots=True)
class _Plan:
    """What the C code needs to know of a layout, built once per layout."""

    layout: Layout
    kinds: tuple[int, ...]
    fmts: tuple[bytes, ...]
    codes: tuple[tuple[np.ndarray, np.ndarray], ...]  # per field: blob, offsets


def typed_fields(layout: Layout) -> frozenset[str]:
    """Fields that :func:`read_fixed` also gives typed, as ``_t_<field>``."""
    plan = _plan(layout)
    return frozenset(f.name for f, k in zip(layout.fields, plan.kinds, strict=True) if k in _TYPED)


@cache
def _plan(layout: Layout) -> _Plan:
    codes = []
    for f in layout.fields:
        values = sorted(c.encode() for c in f.codes) if f.type is FieldType.CODE else []
        blob = np.frombuffer(b"".join(values) or b"\0", dtype=np.uint8)
        offsets = np.cumsum([0, *(len(v) for v in values)], dtype=np.int64)
        codes.append((blob, offsets))
    return _Plan(
        layout,
        tuple(_kind(f) for f in layout.fields),
        tuple(f.fmt.encode() for f in layout.fields),
        tuple(codes),
    )


def _chunks(data: bytes, pieces: int) -> list[tuple[int, int]]:
    """Split at line ends into about ``pieces`` parts of at most CHUNK_BYTES."""
    size = len(data)
    pieces = max(pieces, -(-size // CHUNK_BYTES), 1)
    bounds = [0]
    for k in range(1, pieces):
        at = max(size * k // pieces, bounds[-1])
        nl = data.find(b"\n", at)
        if nl < 0:
            break
        if nl + 1 > bounds[-1]:
            bounds.append(nl + 1)
    bounds.append(size)
    return [(a, b) for a, b in itertools.pairwise(bounds) if b > a]


def _cut_chunk(
    lib: ctypes.CDLL,
    plan: _Plan,
    view: np.ndarray,
    start: int,
    end: int,
    first_line: int,
    lines: int,
    max_day: int,
) -> tuple[list[pa.Array], np.ndarray]:
    """Cut data[start:end]: the arrays (line_number, text, fields, suspect), exotic lines."""
    layout = plan.layout
    base = view.ctypes.data + start
    size = end - start
    line_numbers = np.empty(lines, dtype=np.int64)
    text_offsets = np.empty(lines + 1, dtype=np.int32)
    text_data = np.empty(max(size, 1), dtype=np.uint8)
    suspect = np.zeros((lines + 7) // 8 or 1, dtype=np.uint8)
    exotic = np.empty(3 * max(lines, 1), dtype=np.int64)  # untouched pages cost nothing
    n_exotic = np.zeros(1, dtype=np.int64)
    fields = (_Field * len(layout.fields))()
    buffers = []
    for k, f in enumerate(layout.fields):
        offsets = np.empty(lines + 1, dtype=np.int32)
        data = np.empty(max(lines * f.length, 1), dtype=np.uint8)
        valid = np.zeros((lines + 7) // 8 or 1, dtype=np.uint8)
        typed = np.empty(lines, dtype=_TYPED[plan.kinds[k]][1]) if plan.kinds[k] in _TYPED else None
        blob, code_offsets = plan.codes[k]
        fields[k] = _Field(
            f.start - 1,
            f.length,
            plan.kinds[k],
            int(f.required),
            plan.fmts[k],
            len(code_offsets) - 1,
            blob.ctypes.data,
            code_offsets.ctypes.data,
            f.scale,
            offsets.ctypes.data,
            data.ctypes.data,
            valid.ctypes.data,
            None if typed is None else typed.ctypes.data,
        )
        buffers.append((offsets, data, valid, typed))
    rows = int(
        lib.bmb_cut(
            base,
            size,
            first_line,
            len(layout.fields),
            ctypes.addressof(fields),
            layout.width,
            layout.fields[-1].start,
            _MIN_DAY,
            max_day,
            line_numbers.ctypes.data,
            text_offsets.ctypes.data,
            text_data.ctypes.data,
            suspect.ctypes.data,
            exotic.ctypes.data,
            n_exotic.ctypes.data,
        )
    )
    arrays: list[pa.Array] = [
        pa.array(line_numbers[:rows]),
        pa.Array.from_buffers(
            pa.string(), rows, [None, pa.py_buffer(text_offsets), pa.py_buffer(text_data)]
        ),
    ]
    typed_arrays = []
    for k, (offsets, data, valid, typed) in enumerate(buffers):
        validity = pa.py_buffer(valid)
        arrays.append(
            pa.Array.from_buffers(
                pa.string(), rows, [validity, pa.py_buffer(offsets), pa.py_buffer(data)]
            )
        )
        if typed is not None:  # valid where the text is; meaningful where not suspect
            arrow_type = _TYPED[plan.kinds[k]][0]
            typed_arrays.append(
                pa.Array.from_buffers(arrow_type, rows, [validity, pa.py_buffer(typed)])
            )
    arrays.append(pa.Array.from_buffers(pa.bool_(), rows, [None, pa.py_buffer(suspect)]))
    arrays += typed_arrays
    found = exotic[: 3 * int(n_exotic[0])].reshape(-1, 3)
    found[:, 1:] += start  # byte positions in the whole file
    return arrays, found


def _schema(layout: Layout) -> pa.Schema:
    plan = _plan(layout)
    return pa.schema(
        [("line_number", pa.int64()), ("text", pa.string())]
        + [(f"_v_{f.name}", pa.string()) for f in layout.fields]
        + [("_suspect", pa.bool_())]
        + [
            (f"_t_{f.name}", _TYPED[k][0])
            for f, k in zip(layout.fields, plan.kinds, strict=True)
            if k in _TYPED
        ]
    )


def _exotic_table(
    layout: Layout, schema: pa.Schema, view: np.ndarray, exotic: np.ndarray
) -> tuple[pa.Table, list[tuple[int, str]]]:
    """The lines the C code left: decoded and cut the reference way, all suspect."""
    numbers: list[int] = []
    texts: list[str] = []
    bad: list[tuple[int, str]] = []
    for line_no, a, b in exotic.tolist():
        raw = view[a:b].tobytes()
        try:
            texts.append(raw.decode("utf-8"))
            numbers.append(line_no)
        except UnicodeDecodeError:
            bad.append((line_no, raw.decode("utf-8", errors="backslashreplace")))
    table = pa.table(
        {"line_number": pa.array(numbers, pa.int64()), "text": pa.array(texts, pa.string())}
    )
    table = cut_fixed(layout, table)
    table = table.append_column("_suspect", pa.repeat(pa.scalar(True), len(numbers)))
    for name in schema.names[table.num_columns :]:  # the typed values: SQL types these
        table = table.append_column(name, pa.nulls(len(numbers), schema.field(name).type))
    return table.cast(schema), bad


def read_fixed(data: bytes, layout: Layout, *, threads: int | None = None) -> FixedRecords:
    """Split, cut and pre-check a fixed-width file's bytes (see the module's docstring)."""
    assert layout.framing is Framing.FIXED
    lib = _library()
    if lib is None:
        raise RuntimeError(f"the compiled cutter {LIBRARY} is not built")
    schema = _schema(layout)
    threads = threads or os.cpu_count() or 1
    pieces = _chunks(data, threads)
    if not pieces:
        return FixedRecords(schema.empty_table(), ())
    # The latest date SQL accepts is current_date + 366 days; staying a day inside it
    # keeps a clock or time zone difference from clearing a record SQL would reject.
    max_day = (dt.date.today() - _EPOCH).days + 364
    view = np.frombuffer(data, dtype=np.uint8)
    plan = _plan(layout)
    # Line numbers continue across pieces: count each piece's lines first (fast).
    jobs: list[tuple[int, int, int, int]] = []  # start, end, first line number, lines
    line = 1
    for a, b in pieces:
        lines = int(lib.bmb_count_lines(view.ctypes.data + a, b - a))
        jobs.append((a, b, line, lines))
        line += lines

    def cut(job: tuple[int, int, int, int]) -> tuple[list[pa.Array], np.ndarray]:
        start, end, first, lines = job
        return _cut_chunk(lib, plan, view, start, end, first, lines, max_day)

    with ThreadPoolExecutor(max_workers=min(len(jobs), threads)) as pool:
        results = list(pool.map(cut, jobs))
    tables = [pa.Table.from_arrays(arrays, schema=schema) for arrays, _ in results]
    exotic = np.concatenate([x for _, x in results])
    bad: list[tuple[int, str]] = []
    if len(exotic):
        extra, bad = _exotic_table(layout, schema, view, exotic)
        tables.append(extra)
    return FixedRecords(pa.concat_tables(tables), tuple(bad))
