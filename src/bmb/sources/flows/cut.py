"""Cut fixed-width records into their fields with Arrow, before typing them in DuckDB.

Slicing millions of short strings is the costliest part of reading a fixed-width
flow. Arrow's byte slicing over the whole column is several times faster than
per-row ``substr`` in SQL. Byte positions equal character positions only for ASCII
lines, which the regional flows are; a file with any non-ASCII line is cut by
characters instead (correct, slower).
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from bmb.domain.flows.layout import Framing, Layout


def cut_fixed(layout: Layout, table: pa.Table) -> pa.Table:
    """Add a trimmed text column ``_v_<field>`` (null when blank) per field of the layout."""
    assert layout.framing is Framing.FIXED
    text = table.column("text").combine_chunks()
    ascii_only = len(text) == 0 or bool(pc.all(pc.string_is_ascii(text)).as_py())
    binary = text.cast(pa.binary()) if ascii_only else None
    out = table
    for f in layout.fields:
        if binary is not None:
            piece = pc.binary_slice(binary, f.start - 1, f.end).cast(pa.string())
        else:
            piece = pc.utf8_slice_codeunits(text, f.start - 1, f.end)
        trimmed = pc.utf8_trim_whitespace(piece)
        value = pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)
        out = out.append_column(f"_v_{f.name}", value)
    return out
