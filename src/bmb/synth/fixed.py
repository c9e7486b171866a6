"""Fixed-width records as a byte matrix: one row per record, one column slice per field.

Arrow's string kernels pad and join one field at a time over variable-length strings;
a fixed-width record needs none of that: every field has a known place. So a block of
records is a ``uint8`` matrix initialized to spaces, and each field's slice is filled
from its numpy column in one vectorized step: strings through their code points
(ASCII only, checked, so that characters and bytes coincide as the layouts assume),
integers digit by digit, dates and times by indexing a precomputed table of their
formatted bytes. About ten times faster than formatting strings, it is what makes the
whole region fit its time budget.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import numpy as np

from bmb.domain.flows import Field, FieldType, Layout

EPOCH = np.datetime64("1880-01-01")
DAYS = 80_000  # 1880 to 2099
SPACE = 32


def _digit_columns(values: np.ndarray, width: int) -> np.ndarray:
    """(n, width) ASCII digits of non-negative integers, zero-padded on the left."""
    out = np.empty((len(values), width), dtype=np.uint8)
    x = values.astype(np.int64)
    for j in range(width - 1, -1, -1):
        out[:, j] = 48 + x % 10
        x = x // 10
    return out


@cache
def date_matrix(fmt: str) -> np.ndarray:
    """Formatted bytes of every day from 1880 on, one row per day, for a strftime format."""
    days = EPOCH + np.arange(DAYS)
    months = days.astype("datetime64[M]")
    parts = {
        "%Y": _digit_columns(days.astype("datetime64[Y]").astype(np.int64) + 1970, 4),
        "%m": _digit_columns(months.astype(np.int64) % 12 + 1, 2),
        "%d": _digit_columns((days - months.astype("datetime64[D]")).astype(np.int64) + 1, 2),
    }
    cols = [
        parts[t] if t in parts else np.full((DAYS, 1), ord(t), dtype=np.uint8)
        for t in re.findall(r"%[Ymd]|[^%]", fmt)
    ]
    return np.ascontiguousarray(np.hstack(cols))


@cache
def time_matrix(fmt: str) -> np.ndarray:
    """Formatted bytes of every minute of the day (``%H%M`` or ``%H:%M``)."""
    minutes = np.arange(24 * 60)
    parts = {"%H": _digit_columns(minutes // 60, 2), "%M": _digit_columns(minutes % 60, 2)}
    cols = [
        parts[t] if t in parts else np.full((len(minutes), 1), ord(t), dtype=np.uint8)
        for t in re.findall(r"%[HM]|[^%]", fmt)
    ]
    return np.ascontiguousarray(np.hstack(cols))


def _check_width(f: Field, table: np.ndarray) -> None:
    if table.shape[1] != f.length:
        raise ValueError(f"field {f.name}: format {f.fmt} is not {f.length} characters")


def _codes(f: Field, arr: np.ndarray) -> np.ndarray:
    """Character codes (n, k) of a string array, 0 past each string's end."""
    if arr.dtype.kind == "U":
        k = arr.dtype.itemsize // 4
        codes = np.ascontiguousarray(arr).view(np.uint32).reshape(len(arr), k)
    elif arr.dtype.kind == "S":
        k = arr.dtype.itemsize
        codes8 = np.ascontiguousarray(arr).view(np.uint8).reshape(len(arr), k)
        if k and codes8.size and int(codes8.max()) > 127:
            raise ValueError(f"field {f.name}: non-ASCII text in a fixed-width layout")
        return codes8
    else:
        return _codes(f, arr.astype(str))
    if k and codes.size and int(codes.max()) > 127:
        raise ValueError(f"field {f.name}: non-ASCII text in a fixed-width layout")
    return codes


def _fill(f: Field, arr: np.ndarray, out: np.ndarray) -> None:
    """Write one field's values into its column slice ``out`` (already spaces)."""
    n = len(out)
    if arr.ndim == 0:
        arr = np.broadcast_to(arr, (n,))
    kind = arr.dtype.kind
    if kind == "M":
        if f.type is not FieldType.DATE:
            raise TypeError(f"field {f.name}: a date given to a {f.type} field")
        table = date_matrix(f.fmt)
        _check_width(f, table)
        blank = np.isnat(arr)
        idx = (arr.astype("datetime64[D]") - EPOCH).astype(np.int64)
        out[:] = table[np.where(blank, 0, idx)]
        out[blank] = SPACE
        return
    if f.type is FieldType.TIME:
        table = time_matrix(f.fmt)
        _check_width(f, table)
        blank = arr < 0
        out[:] = table[np.where(blank, 0, arr).astype(np.int64)]
        out[blank] = SPACE
        return
    if f.type in (FieldType.INT, FieldType.DECIMAL) and kind in "iuf":
        if kind == "f":
            blank = np.isnan(arr)
            scaled = np.round(np.where(blank, 0.0, arr) * 10**f.scale).astype(np.int64)
        else:
            blank = arr < 0
            scaled = np.where(blank, 0, arr).astype(np.int64)
        if (scaled < 0).any() or (scaled >= 10**f.length).any():
            raise ValueError(f"field {f.name}: a value does not fit {f.length} digits")
        out[:] = _digit_columns(scaled, f.length)
        out[blank] = SPACE
        return
    codes = _codes(f, arr)
    k = min(codes.shape[1], f.length)
    chars = codes[:, :k]
    out[:, :k] = np.where(chars == 0, SPACE, chars)


def format_fixed(
    layout: Layout, columns: dict[str, Any], n: int, *, newline: bool = False
) -> np.ndarray:
    """The records as an (n, width) ``uint8`` matrix; a missing field is blank.

    With ``newline`` the matrix has one more column holding ``\\n``: its bytes are
    then exactly the file's. Strings longer than their field are cut; integers < 0,
    NaN and NaT are blank; a number too wide for its field raises ValueError (it would
    be a different number).
    """
    out = np.full((n, layout.width + newline), SPACE, dtype=np.uint8)
    if newline:
        out[:, -1] = 10
    for f in layout.fields:
        values = columns.get(f.name)
        if values is None:
            continue
        _fill(f, np.asarray(values), out[:, f.start - 1 : f.end])
    return out


def digits_text(prefix: str, *parts: tuple[Any, int]) -> np.ndarray:
    """Codes made of a fixed prefix and zero-padded numbers, as a bytes (``S``) array.

    ``digits_text("0700A", (chunk, 4), (rx, 7))`` gives ``b"0700A0003" + 7 digits``:
    identifiers built digit by digit instead of formatting each number as a string.
    """
    n = max(np.size(v) for v, _ in parts)
    cols = []
    if prefix:
        cols.append(np.frombuffer(prefix.encode("ascii"), np.uint8)[None, :].repeat(n, axis=0))
    for values, width in parts:
        v = np.broadcast_to(np.asarray(values, dtype=np.int64), (n,))
        if n and (int(v.min()) < 0 or int(v.max()) >= 10**width):
            raise ValueError(f"a number does not fit {width} digits")
        cols.append(_digit_columns(v, width))
    m = np.ascontiguousarray(np.hstack(cols)) if n else np.zeros((0, 1), np.uint8)
    return m.view(f"S{m.shape[1]}").reshape(n)
