"""Cut a flow file into records (lines), keeping every line and its number.

Nothing is lost here: a line that is not valid UTF-8 is kept (its bytes shown with
backslash escapes) and reported as an encoding reject, and an empty line inside the
file is a record like any other (validation will reject it). Only the empty string
after the final newline is not a record.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa


@dataclass(frozen=True, slots=True)
class Lines:
    """The records of one file: good lines as Arrow, undecodable ones aside."""

    table: pa.Table  # line_number int64, text string
    bad_encoding: tuple[tuple[int, str], ...]  # (line number, escaped text)

    @property
    def count(self) -> int:
        return int(self.table.num_rows) + len(self.bad_encoding)


def read_bytes(path: Path) -> bytes:
    """The file's content, un-gzipped if its name ends in .gz."""
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        data = gzip.decompress(data)
    return data


def split_lines(data: bytes) -> Lines:
    """Split bytes into numbered UTF-8 lines (CRLF or LF)."""
    raw = data.split(b"\n")
    if raw and raw[-1] == b"":
        raw.pop()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    numbers: list[int] = []
    texts: list[str] = []
    bad: list[tuple[int, str]] = []
    if text is not None:
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        texts = [ln[:-1] if ln.endswith("\r") else ln for ln in lines]
        numbers = list(range(1, len(texts) + 1))
    else:
        for i, chunk in enumerate(raw, start=1):
            if chunk.endswith(b"\r"):
                chunk = chunk[:-1]
            try:
                texts.append(chunk.decode("utf-8"))
                numbers.append(i)
            except UnicodeDecodeError:
                bad.append((i, chunk.decode("utf-8", errors="backslashreplace")))
    table = pa.table(
        {"line_number": pa.array(numbers, pa.int64()), "text": pa.array(texts, pa.string())}
    )
    return Lines(table, tuple(bad))


def read_lines(path: Path) -> Lines:
    """Read and split a flow file."""
    return split_lines(read_bytes(path))
