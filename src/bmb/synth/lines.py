"""Records written exactly as a layout of ``bmb.domain.flows`` declares them.

One function turns columns into lines for any layout, so the generator can never
drift from the contract the readers parse: fixed-width fields are padded per type
(codes and text left-aligned with spaces, integers and implied-decimal numbers
right-aligned with zeros, dates and times in the field's format, blanks as spaces);
delimited fields are joined with the separator, no header, no quoting.

Formatting tens of millions of values one by one in Python is far too slow, so:
a fixed-width layout is built as a byte matrix (one row per record, each field a
slice of columns filled from numpy arrays: strings through their code points, numbers
digit by digit, dates and times from lookup tables), and a delimited layout is joined
with Arrow's string kernels.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bmb.domain.flows import Field, FieldType, Framing, Layout
from bmb.synth.fixed import EPOCH, date_matrix, format_fixed, time_matrix

__all__ = [
    "EPOCH",
    "decimals_text",
    "field_text",
    "format_lines",
    "record_bytes",
    "strings",
    "to_bytes",
]


def _matrix_strings(m: np.ndarray) -> pa.Array:
    """Rows of a byte matrix as an Arrow string array (zero-copy, then one cast)."""
    m = np.ascontiguousarray(m)
    arr = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(m.shape[1]), m.shape[0], [None, pa.py_buffer(m)]
    )
    return arr.cast(pa.binary()).cast(pa.string())


@cache
def _date_table(fmt: str) -> pa.Array:
    return _matrix_strings(date_matrix(fmt))


@cache
def _time_table(fmt: str) -> pa.Array:
    return _matrix_strings(time_matrix(fmt))


def strings(values: np.ndarray) -> pa.Array:
    """An Arrow string array from a numpy string array, fast for ASCII.

    ``pa.array`` on numpy unicode (UCS-4) is slow; ASCII text goes through bytes.
    """
    arr = np.asarray(values)
    if arr.dtype.kind == "U" and arr.dtype.itemsize and len(arr):
        k = arr.dtype.itemsize // 4
        codes = np.ascontiguousarray(arr).view(np.uint32).reshape(len(arr), k)
        if int(codes.max()) < 128:
            arr = codes.astype(np.uint8).view(f"S{k}").reshape(-1)
    if arr.dtype.kind == "S":
        return pa.array(arr, pa.binary()).cast(pa.string())
    return pa.array(arr.astype(str), pa.string())


def field_text(f: Field, values: Any, n: int) -> pa.Array:
    """The text of one field for n records, unpadded ('' for blank)."""
    if values is None:
        return pa.array([""] * n) if n < 64 else pc.cast(pa.nulls(n), pa.string()).fill_null("")
    if isinstance(values, pa.Array):
        return values
    arr = np.asarray(values)
    if arr.dtype.kind == "M":
        blank = np.isnat(arr)
        if f.type is FieldType.TIME:
            raise TypeError(f"field {f.name}: pass times as minutes of the day")
        idx = np.where(blank, 0, (arr.astype("datetime64[D]") - EPOCH).astype(np.int64))
        out = pc.take(_date_table(f.fmt), pa.array(idx))
        return pc.if_else(pa.array(blank), "", out) if blank.any() else out
    if f.type is FieldType.TIME:
        blank = arr < 0
        out = pc.take(_time_table(f.fmt), pa.array(np.where(blank, 0, arr).astype(np.int64)))
        return pc.if_else(pa.array(blank), "", out) if blank.any() else out
    if arr.dtype.kind == "f":
        blank = np.isnan(arr)
        if f.type is FieldType.DECIMAL and f.length and f.scale:
            scaled = np.round(np.where(blank, 0, arr) * 10**f.scale).astype(np.int64)
            out = pc.cast(pa.array(scaled), pa.string())
        else:
            out = pc.cast(pa.array(np.round(np.where(blank, 0, arr), 2)), pa.string())
        return pc.if_else(pa.array(blank), "", out) if blank.any() else out
    if arr.dtype.kind in "iu":
        blank = arr < 0
        out = pc.cast(pa.array(arr.astype(np.int64)), pa.string())
        return pc.if_else(pa.array(blank), "", out) if blank.any() else out
    return strings(arr)


def decimals_text(values: np.ndarray, decimals: np.ndarray) -> pa.Array:
    """Non-negative numbers with a given number of decimals each (``5.30``), in Arrow.

    Built as integer part, '.', and zero-padded fraction from the scaled integer, so
    no value is formatted in Python.
    """
    if len(values) and float(np.min(values)) < 0:
        raise ValueError("decimals_text: negative value")
    order = np.argsort(decimals, kind="stable")
    dec = decimals[order]
    val = values[order]
    parts: list[pa.Array] = []
    for d in np.unique(dec):
        scale = 10 ** int(d)
        q = np.round(val[dec == d] * scale).astype(np.int64)
        whole = pc.cast(pa.array(q // scale), pa.string())
        if d == 0:
            parts.append(whole)
            continue
        frac = pc.utf8_lpad(pc.cast(pa.array(q % scale), pa.string()), int(d), "0")
        parts.append(pc.binary_join_element_wise(whole, frac, "."))
    if not parts:
        return pa.array([], pa.string())
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    return pa.concat_arrays(parts).take(pa.array(inverse))


def format_lines(layout: Layout, columns: dict[str, Any], n: int) -> pa.Array:
    """Lines (no newline) of n records of ``layout`` from its columns.

    A field missing from ``columns`` is blank. Integers < 0, NaN and NaT mean blank.
    Fixed-width layouts give a ``fixed_size_binary`` array (see :mod:`bmb.synth.fixed`),
    delimited ones a string array.
    """
    unknown = set(columns) - set(layout.names)
    if unknown:
        raise KeyError(f"layout {layout.name} has no field(s) {sorted(unknown)}")
    if layout.framing is Framing.FIXED:
        m = format_fixed(layout, columns, n)
        return pa.FixedSizeBinaryArray.from_buffers(
            pa.binary(layout.width), n, [None, pa.py_buffer(m)]
        )
    parts: list[pa.Array] = []
    for f in layout.fields:
        txt = field_text(f, columns.get(f.name), n)
        if f.length and f.type in (FieldType.CODE, FieldType.TEXT):
            txt = pc.utf8_slice_codeunits(txt, 0, f.length)
        parts.append(txt)
    if len(parts) == 1:
        return parts[0]
    return pc.binary_join_element_wise(*parts, layout.separator)


def record_bytes(
    layout: Layout, columns: dict[str, Any], n: int, order: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The file bytes of n records (each line ends with a newline), taken in ``order``.

    Returns the bytes as a ``uint8`` array and the n + 1 offsets where lines start, so
    that a caller can cut consecutive records into files without copying twice.
    """
    if layout.framing is Framing.FIXED:
        unknown = set(columns) - set(layout.names)
        if unknown:
            raise KeyError(f"layout {layout.name} has no field(s) {sorted(unknown)}")
        m = format_fixed(layout, columns, n, newline=True)
        if order is not None:
            m = m[order]
        return m.reshape(-1), np.arange(n + 1, dtype=np.int64) * m.shape[1]
    lines = format_lines(layout, columns, n)
    if order is not None:
        lines = lines.take(pa.array(order))
    return _joined(lines)


def _joined(lines: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    nl = pa.scalar(b"\n", pa.large_binary())
    arr = pc.binary_join_element_wise(lines.cast(pa.large_binary()), nl, pa.scalar(b"", nl.type))
    arr = pa.concat_arrays([arr]) if isinstance(arr, pa.ChunkedArray) else arr
    offsets = np.frombuffer(
        arr.buffers()[1], dtype=np.int64, count=len(arr) + 1, offset=arr.offset * 8
    )
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)
    return data[int(offsets[0]) : int(offsets[-1])], offsets - offsets[0]


def to_bytes(lines: pa.Array) -> bytes:
    """Join lines with '\\n' after each one (the file's bytes)."""
    if len(lines) == 0:
        return b""
    data, _ = _joined(lines)
    return data.tobytes()
