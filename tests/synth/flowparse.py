"""A small test-side reader of flow files, written from the layouts alone.

The real reader belongs to the ingestion; this one exists so that the generator is
checked against the layouts and not against itself.
"""

from __future__ import annotations

from datetime import datetime

from bmb.domain.flows import FieldType, Framing, Layout


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
