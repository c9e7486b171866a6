"""Cut fixed-width records into their fields with Arrow, before typing them in DuckDB.

Slicing millions of short strings is the costliest part of reading a fixed-width
flow. Arrow's byte slicing over the whole column is several times faster than
per-row ``substr`` in SQL. Byte positions equal character positions only for ASCII
lines, which the regional flows are; a file with any non-ASCII line is cut by
characters instead (correct, slower).

Arrow's string kernels run on one core, so the rows are cut in slices on a thread
pool (the kernels release the GIL): on two cores the cut takes less than half as long.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa
import pyarrow.compute as pc

from bmb.domain.flows.layout import Framing, Layout

#: Rows per slice cut on one thread: big enough to amortize the kernels' overhead.
SLICE_ROWS = 1 << 18


def cut_fixed(layout: Layout, table: pa.Table) -> pa.Table:
    """Add a trimmed text column ``_v_<field>`` (null when blank) per field of the layout."""
    assert layout.framing is Framing.FIXED
    text = table.column("text").combine_chunks()
    ascii_only = len(text) == 0 or bool(pc.all(pc.string_is_ascii(text)).as_py())
    n = len(text)
    if n <= SLICE_ROWS:
        columns = _cut(layout, text, ascii_only)
    else:
        slices = [text.slice(i, SLICE_ROWS) for i in range(0, n, SLICE_ROWS)]
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            parts = list(pool.map(lambda s: _cut(layout, s, ascii_only), slices))
        columns = [pa.chunked_array([p[i] for p in parts]) for i in range(len(layout.fields))]
    out = table
    for f, column in zip(layout.fields, columns, strict=True):
        out = out.append_column(f"_v_{f.name}", column)
    return out


def _cut(layout: Layout, text: pa.Array, ascii_only: bool) -> list[pa.Array]:
    binary = text.cast(pa.binary()) if ascii_only else None
    out: list[pa.Array] = []
    for f in layout.fields:
        if binary is not None:
            piece = pc.binary_slice(binary, f.start - 1, f.end).cast(pa.string())
        else:
            piece = pc.utf8_slice_codeunits(text, f.start - 1, f.end)
        trimmed = pc.utf8_trim_whitespace(piece)
        out.append(pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed))
    return out
