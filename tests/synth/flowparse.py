"""A small test-side reader of flow files, written from the layouts alone.

The real reader belongs to the ingestion; this one exists so that the generator is
checked against the layouts and not against itself.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bmb.domain.flows import Field, FieldType, Framing, Layout


def split(layout: Layout, line: str) -> dict[str, str]:
    """Field texts of one line (raises ValueError when the line has the wrong shape)."""
    if layout.framing is Framing.FIXED:
        if len(line) != layout.width:
            raise ValueError(f"length {len(line)} != {layout.width}")
        return {f.name: line[f.start - 1 : f.end] for f in layout.fields}
    parts = line.split(layout.separator)
    if len(parts) != len(layout.fields):
        raise ValueError(f"{len(parts)} fields != {len(layout.fields)}")
    return {f.name: v for f, v in zip(layout.fields, parts, strict=True)}


def check(layout: Layout, line: str) -> list[str]:
    """Problems of one line against its layout, empty when it is good."""
    problems = []
    fields = split(layout, line)
    for f in layout.fields:
        raw = fields[f.name]
        value = raw.strip()
        if not value:
            if f.required:
                problems.append(f"{f.name}: required but blank")
            continue
        if f.type is FieldType.INT and not value.isdigit():
            problems.append(f"{f.name}: {raw!r} is not an integer")
        elif f.type is FieldType.DECIMAL:
            try:
                float(value)
            except ValueError:
                problems.append(f"{f.name}: {raw!r} is not a number")
        elif f.type in (FieldType.DATE, FieldType.TIME):
            try:
                datetime.strptime(value, f.fmt)
            except ValueError:
                problems.append(f"{f.name}: {raw!r} does not match {f.fmt}")
        elif f.type is FieldType.CODE and f.codes and value not in f.codes:
            problems.append(f"{f.name}: {value!r} not in its code list")
        if layout.framing is Framing.DELIMITED and f.length and len(value) > f.length:
            problems.append(f"{f.name}: longer than {f.length}")
        if layout.framing is Framing.FIXED and f.type is FieldType.INT and raw != raw.strip():
            problems.append(f"{f.name}: integer not zero-padded")
    return problems


def read_table(
    paths: list[Path], layout: Layout, skip: frozenset[tuple[str, int]] = frozenset()
) -> pa.Table:
    """Every record of ``paths`` as trimmed field texts, with ``_file`` and ``_line``.

    Done on arrays (a fixed-width file is a byte matrix; fields are column slices) so
    that a whole region is read in seconds. Lines listed in ``skip`` (file name, 1-based
    line: the fault manifest) are left out. Raises ValueError on a line of the wrong
    length or field count, or on bytes that are not UTF-8.
    """
    chunks: list[bytes] = []
    files: list[str] = []
    numbers: list[int] = []
    for path in paths:
        data = path.read_bytes()
        if not data.endswith(b"\n") and data:
            raise ValueError(f"{path.name}: no newline after the last line")
        count = data.count(b"\n")
        listed = sorted(i for (name, i) in skip if name == path.name)
        if listed:
            raw = data.split(b"\n")[:-1]
            keep = sorted(set(range(1, count + 1)) - set(listed))
            data = b"".join(raw[i - 1] + b"\n" for i in keep)
        else:
            keep = list(range(1, count + 1))
        chunks.append(data)
        files += [path.name] * len(keep)
        numbers += keep
    data = b"".join(chunks)
    cols: dict[str, pa.Array] = {"_file": pa.array(files), "_line": pa.array(numbers)}
    n = len(numbers)
    if layout.framing is Framing.FIXED:
        width = layout.width + 1
        if len(data) != n * width or (n and data[width - 1 :: width] != b"\n" * n):
            raise ValueError(f"{layout.name}: a line is not {layout.width} characters")
        matrix = np.frombuffer(data, np.uint8).reshape(n, width)
        for f in layout.fields:
            cut = np.ascontiguousarray(matrix[:, f.start - 1 : f.end])
            arr = pa.FixedSizeBinaryArray.from_buffers(
                pa.binary(f.length), n, [None, pa.py_buffer(cut)]
            )
            cols[f.name] = pc.utf8_trim_whitespace(arr.cast(pa.binary()).cast(pa.string()))
    else:
        lines = pa.array(data.decode("utf-8").split("\n")[:-1], pa.string())
        parts = pc.split_pattern(lines, layout.separator)
        k = len(layout.fields)
        bad = pc.sum(pc.not_equal(pc.list_value_length(parts), k)).as_py() if n else 0
        if bad:
            raise ValueError(f"{layout.name}: {bad} lines do not have {k} fields")
        for i, f in enumerate(layout.fields):
            cols[f.name] = pc.utf8_trim_whitespace(pc.list_element(parts, i))
    return pa.table(cols)


def problems(layout: Layout, table: pa.Table, limit: int = 5) -> list[str]:
    """Field problems of a whole table (as :func:`check` finds them line by line)."""
    out: list[str] = []

    def report(f: Field, bad: pa.Array, what: str) -> None:
        if len(table) == 0:
            return
        idx = np.nonzero(np.asarray(bad.fill_null(False)))[0]
        for i in idx[:limit]:
            val = table[f.name][int(i)].as_py()
            where = f"{table['_file'][int(i)]}:{table['_line'][int(i)]}"
            out.append(f"{where}: {f.name}: {val!r} {what}")

    for f in layout.fields:
        col = table[f.name]
        blank = pc.equal(col, "")
        if f.required:
            report(f, blank, "required but blank")
        present = pc.invert(blank)
        if f.type is FieldType.INT:
            ok = pc.match_substring_regex(col, r"^[0-9]+$")
            report(f, pc.and_(present, pc.invert(ok)), "is not an integer")
        elif f.type is FieldType.DECIMAL:
            ok = pc.match_substring_regex(col, r"^-?[0-9]+(\.[0-9]+)?$")
            report(f, pc.and_(present, pc.invert(ok)), "is not a number")
        elif f.type in (FieldType.DATE, FieldType.TIME):
            bad_values = {v for v in pc.unique(col).to_pylist() if v and not _parses(v, f.fmt)}
            report(f, pc.is_in(col, pa.array(sorted(bad_values), pa.string())), f"not {f.fmt}")
        elif f.type is FieldType.CODE and f.codes:
            ok = pc.is_in(col, pa.array(sorted(f.codes)))
            report(f, pc.and_(present, pc.invert(ok)), "not in its code list")
        if layout.framing is Framing.DELIMITED and f.length:
            report(f, pc.greater(pc.utf8_length(col), f.length), f"longer than {f.length}")
    return out


def _parses(value: str, fmt: str) -> bool:
    try:
        datetime.strptime(value, fmt)
    except ValueError:
        return False
    return True
