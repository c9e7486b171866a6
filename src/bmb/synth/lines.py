"""Records written exactly as a layout of ``bmb.domain.flows`` declares them.

One function turns columns into lines for any layout, so the generator can never
drift from the contract the readers parse: fixed-width fields are padded per type
(codes and text left-aligned with spaces, integers and implied-decimal numbers
right-aligned with zeros, dates and times in the field's format, blanks as spaces);
delimited fields are joined with the separator, no header, no quoting. Work is done
on Arrow string arrays (C++ kernels), and dates and times come from lookup tables,
because formatting tens of millions of values one by one in Python is too slow.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bmb.domain.flows import Field, FieldType, Framing, Layout

EPOCH = np.datetime64("1880-01-01")
_DAYS = 80_000  # 1880 to 2099


@cache
def _date_table(fmt: str) -> pa.Array:
    base = date(1880, 1, 1)
    return pa.array([(base + timedelta(days=i)).strftime(fmt) for i in range(_DAYS)])


@cache
def _time_table(fmt: str) -> pa.Array:
    return pa.array(
        [
            f"{h:02d}{m:02d}" if fmt == "%H%M" else f"{h:02d}:{m:02d}"
            for h in range(24)
            for m in range(60)
        ]
    )


def _blank_mask(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind == "M":
        return np.asarray(np.isnat(values))
    if values.dtype.kind == "f":
        return np.asarray(np.isnan(values))
    if values.dtype.kind in "iu":
        return values < 0
    return np.zeros(len(values), dtype=bool)


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
    if arr.dtype.kind == "S":
        return pa.array(arr.astype("U"))
    return pa.array(arr.astype(str))


def format_lines(layout: Layout, columns: dict[str, Any], n: int) -> pa.Array:
    """Lines (no newline) of n records of ``layout`` from its columns.

    A field missing from ``columns`` is blank. Integers < 0, NaN and NaT mean blank.
    """
    unknown = set(columns) - set(layout.names)
    if unknown:
        raise KeyError(f"layout {layout.name} has no field(s) {sorted(unknown)}")
    parts: list[pa.Array] = []
    for f in layout.fields:
        txt = field_text(f, columns.get(f.name), n)
        if layout.framing is Framing.FIXED:
            txt = _pad(f, txt)
        elif f.length and f.type in (FieldType.CODE, FieldType.TEXT):
            txt = pc.utf8_slice_codeunits(txt, 0, f.length)
        parts.append(txt)
    sep = layout.separator if layout.framing is Framing.DELIMITED else ""
    if len(parts) == 1:
        return parts[0]
    return pc.binary_join_element_wise(*parts, sep)


def _pad(f: Field, txt: pa.Array) -> pa.Array:
    width = f.length
    if f.type in (FieldType.INT, FieldType.DECIMAL):
        empty = pc.equal(pc.utf8_length(txt), 0)
        padded = pc.utf8_lpad(txt, width, "0")
        padded = pc.if_else(empty, " " * width, padded)
    else:
        padded = pc.utf8_rpad(txt, width, " ")
    return pc.utf8_slice_codeunits(padded, 0, width)


def to_bytes(lines: pa.Array) -> bytes:
    """Join lines with '\\n' after each one (the file's bytes)."""
    if len(lines) == 0:
        return b""
    arr = pc.binary_join_element_wise(lines.cast(pa.binary()), pa.scalar(b"\n"), b"")
    arr = pa.concat_arrays([arr]) if isinstance(arr, pa.ChunkedArray) else arr
    offsets = np.frombuffer(
        arr.buffers()[1], dtype=np.int32, count=len(arr) + 1, offset=arr.offset * 4
    )
    data = arr.buffers()[2]
    raw: bytes = data.to_pybytes()
    return raw[int(offsets[0]) : int(offsets[-1])]
