"""Realistic bad records, injected on purpose and listed, to test nothing-lost ingestion.

A fault corrupts one record that was otherwise good: an invalid fiscal code (wrong
check character), an impossible date (31 February), an unknown code, a truncated
line, a duplicate (an exact repeat of the previous line) or a wrong encoding (a
Latin-1 byte where UTF-8 is expected). Every fault is reported with the line it is
on, the field (None for whole-record faults) and why, so a test can check that the
reader quarantined exactly these records.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bmb.domain.flows import Field, FieldType, Framing, Identifier, Layout

KINDS = (
    "invalid_fiscal_code",
    "impossible_date",
    "unknown_code",
    "truncated",
    "duplicate",
    "wrong_encoding",
)


@dataclass(frozen=True, slots=True)
class Fault:
    line: int  # 0-based index in the piece after injection
    field: str | None
    kind: str
    reason: str


def _impossible(f: Field) -> str:
    return {"%Y%m%d": "20230231", "%d%m%Y": "31022023", "%Y-%m-%d": "2023-02-31"}.get(
        f.fmt, "20230231"
    )


def _candidates(layout: Layout) -> dict[str, list[Field]]:
    fields = layout.fields
    return {
        "invalid_fiscal_code": [f for f in fields if f.identifier is Identifier.PATIENT_ID],
        "impossible_date": [f for f in fields if f.type is FieldType.DATE and f.required],
        "unknown_code": [f for f in fields if f.type is FieldType.CODE and f.codes and f.required],
        "wrong_encoding": [
            f for f in fields if f.identifier is Identifier.DIRECT or f.type is FieldType.TEXT
        ]
        or [f for f in fields if f.required],
    }


def _get(layout: Layout, line: bytes, f: Field) -> tuple[int, int]:
    """Byte span of a field in a line (fixed width: positions; delimited: by separator)."""
    if layout.framing is Framing.FIXED:
        return f.start - 1, f.end
    sep = layout.separator.encode()
    i = layout.names.index(f.name)
    pos = 0
    for _ in range(i):
        pos = line.index(sep, pos) + 1
    nxt = line.find(sep, pos)
    return pos, len(line) if nxt < 0 else nxt


def _set(layout: Layout, line: bytes, f: Field, value: bytes) -> bytes:
    a, b = _get(layout, line, f)
    if layout.framing is Framing.FIXED:
        value = value[: f.length].ljust(f.length, b" ")
    return line[:a] + value + line[b:]


def _lines(data: bytes) -> pa.Array:
    """The lines of file bytes as a binary array, each with its newline."""
    buf = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(buf == 10) + 1
    offsets = np.concatenate([[0], ends]).astype(np.int64)
    return pa.LargeBinaryArray.from_buffers(
        pa.large_binary(), len(ends), [None, pa.py_buffer(offsets), pa.py_buffer(buf)]
    )


def _bytes(lines: pa.Array) -> bytes:
    lines = pa.concat_arrays([lines]) if isinstance(lines, pa.ChunkedArray) else lines
    offsets = np.frombuffer(
        lines.buffers()[1], dtype=np.int64, count=len(lines) + 1, offset=lines.offset * 8
    )
    raw = lines.buffers()[2]
    return raw.to_pybytes()[int(offsets[0]) : int(offsets[-1])] if len(lines) else b""


def inject(
    layout: Layout, data: bytes, records: int, rate: float, rng: np.random.Generator
) -> tuple[bytes, int, list[Fault]]:
    """Corrupt about ``rate`` of the records of file bytes.

    Returns the new bytes, their number of lines (a duplicate adds one) and the faults.
    """
    if rate <= 0 or records == 0:
        return data, records, []
    hit = np.nonzero(rng.random(records) < rate)[0]
    if len(hit) == 0:
        return data, records, []
    binary = _lines(data)
    n = len(binary)
    cand = _candidates(layout)
    kinds = [k for k in KINDS if k in ("truncated", "duplicate") or cand.get(k)]
    chosen = rng.integers(0, len(kinds), size=len(hit))
    replaced: dict[int, bytes] = {}
    dup_after: list[int] = []
    pending: list[tuple[int, str | None, str, str]] = []
    originals = binary.take(pa.array(hit)).to_pylist()
    for i, kind_i, full in zip(hit, chosen, originals, strict=True):
        kind = kinds[kind_i]
        assert isinstance(full, bytes)
        line = full[:-1]
        if kind == "duplicate":
            dup_after.append(int(i))
            pending.append((int(i), None, kind, "exact repeat of the previous line"))
            continue
        if kind == "truncated":
            replaced[int(i)] = line[: max(1, len(line) * 3 // 5)] + b"\n"
            pending.append((int(i), None, kind, "line cut short"))
            continue
        options = cand[kind]
        f = options[int(rng.integers(0, len(options)))]
        a, b = _get(layout, line, f)
        old = line[a:b].strip()
        if kind == "invalid_fiscal_code":
            if len(old) < 16:
                new = b"ABCDEF12G34H567"
                reason = "fiscal code too short"
            else:
                last = old[15:16]
                new = old[:15] + (b"A" if last != b"A" else b"B")
                reason = "wrong check character"
        elif kind == "impossible_date":
            new = _impossible(f).encode()
            reason = "31 February"
        elif kind == "unknown_code":
            new = next(c for c in (b"Q", b"QQ", b"QQQ", b"ZZ", b"XQ") if c.decode() not in f.codes)[
                : max(f.length, 1)
            ]
            reason = "code not in the field's code list"
        else:
            new = b"\xc8" + old[1:] if old else b"\xc8"
            reason = "Latin-1 byte 0xC8 in a UTF-8 file"
        replaced[int(i)] = _set(layout, line, f, new) + b"\n"
        pending.append((int(i), f.name, kind, reason))
    if replaced:
        mask = np.zeros(n, dtype=bool)
        keys = sorted(replaced)
        mask[keys] = True
        binary = pc.replace_with_mask(
            binary, pa.array(mask), pa.array([replaced[k] for k in keys], pa.large_binary())
        )
    # Duplicates: insert a copy right after the original; shift later line numbers.
    index = np.arange(n)
    if dup_after:
        extra = np.array(sorted(dup_after))
        index = np.sort(np.concatenate([index, extra]), kind="stable")
        binary = binary.take(pa.array(index))
    shift = (
        np.searchsorted(np.array(sorted(dup_after)), np.arange(n), side="left")
        if dup_after
        else np.zeros(n, np.int64)
    )
    faults = []
    for row, field, kind, reason in pending:
        pos = row + int(shift[row])
        if kind == "duplicate":
            pos += 1
        faults.append(Fault(pos, field, kind, reason))
    faults.sort(key=lambda f: f.line)
    return _bytes(binary), len(binary), faults
