"""The guard against differencing: outputs of one project that nearly repeat each other.

Two counts over populations that differ by one person reveal that person: "patients
with diabetes in Savona" minus "the same, born before 1950-03-02" is one person's
diagnosis. Each rule of the output policy can pass both outputs; their difference is
the disclosure. BMB therefore keeps, for every output of a project, a compact sketch
of the population it was computed on, and compares each new output with the project's
earlier ones.

The sketch is an invertible Bloom lookup table (Eppstein, Goodrich, Uyeda, Varghese,
"What's the difference?", SIGCOMM 2011) over the persons' project pseudonyms: 80 cells
of (count, xor of ids, xor of id checksums). Subtracting two sketches and peeling the
result lists the persons in one population and not the other, exactly, whenever there
are few of them, which is precisely the dangerous case; when peeling fails, the
populations differ by many persons and the pair is not a differencing risk. A sketch
is about 2 KB whatever the population size, and never holds a lake ``person_id``.

For outputs whose population the engine cannot know (free SQL aggregates), the guard
compares the tables themselves: a cell present in both with counts differing by 1 to
the window is a difference an attacker could read.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bmb.domain.disclosure.secondary import Key

CELLS = 80
HASHES = 3
_MASK = (1 << 64) - 1


def _digest(value: int) -> bytes:
    return hashlib.sha256(b"bmb-iblt:" + value.to_bytes(8, "big", signed=True)).digest()


def _positions(digest: bytes) -> list[int]:
    """Three distinct cells, one in each third of the table (a partitioned IBLT)."""
    part = CELLS // HASHES
    return [
        i * part + int.from_bytes(digest[4 * i : 4 * i + 4], "big") % part for i in range(HASHES)
    ]


def _check(digest: bytes) -> int:
    return int.from_bytes(digest[16:24], "big")


@dataclass(frozen=True, slots=True)
class PopulationSketch:
    """An IBLT of a set of person ids, with the set's size."""

    size: int
    counts: tuple[int, ...]
    id_xor: tuple[int, ...]
    check_xor: tuple[int, ...]

    @classmethod
    def of(cls, ids: Iterable[int]) -> PopulationSketch:
        counts = [0] * CELLS
        id_xor = [0] * CELLS
        check_xor = [0] * CELLS
        size = 0
        for value in set(ids):
            size += 1
            d = _digest(value)
            u = value & _MASK
            c = _check(d)
            for p in _positions(d):
                counts[p] += 1
                id_xor[p] ^= u
                check_xor[p] ^= c
        return cls(size, tuple(counts), tuple(id_xor), tuple(check_xor))

    def to_bytes(self) -> bytes:
        return struct.pack(
            f">q{CELLS}q{CELLS}Q{CELLS}Q", self.size, *self.counts, *self.id_xor, *self.check_xor
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> PopulationSketch:
        values = struct.unpack(f">q{CELLS}q{CELLS}Q{CELLS}Q", data)
        return cls(
            int(values[0]),
            tuple(int(v) for v in values[1 : 1 + CELLS]),
            tuple(int(v) for v in values[1 + CELLS : 1 + 2 * CELLS]),
            tuple(int(v) for v in values[1 + 2 * CELLS :]),
        )


def symmetric_difference(a: PopulationSketch, b: PopulationSketch) -> int | None:
    """How many persons are in exactly one of the two populations, if it is small.

    ``None`` when the difference is too large to decode (then it is larger than any
    differencing window BMB uses).
    """
    counts = [x - y for x, y in zip(a.counts, b.counts, strict=True)]
    id_xor = [x ^ y for x, y in zip(a.id_xor, b.id_xor, strict=True)]
    check_xor = [x ^ y for x, y in zip(a.check_xor, b.check_xor, strict=True)]
    found = 0
    progress = True
    while progress:
        progress = False
        for i in range(CELLS):
            if counts[i] not in (1, -1):
                continue
            u = id_xor[i]
            value = u - (1 << 64) if u >= (1 << 63) else u
            d = _digest(value)
            if _check(d) != check_xor[i] or i not in _positions(d):
                continue
            sign = counts[i]
            for p in _positions(d):
                counts[p] -= sign
                id_xor[p] ^= u
                check_xor[p] ^= _check(d)
            found += 1
            progress = True
    if any(counts) or any(id_xor) or any(check_xor):
        return None
    return found


@dataclass(frozen=True, slots=True)
class Near:
    """An earlier output that the new one nearly repeats."""

    output_id: int
    difference: int
    basis: str  # "population" or "cells"


def near_populations(
    new: PopulationSketch, earlier: Mapping[int, PopulationSketch], window: int
) -> list[Near]:
    """Earlier outputs whose population differs from ``new`` by 1..window persons."""
    out = []
    for output_id, sketch in sorted(earlier.items()):
        if abs(sketch.size - new.size) > window:
            continue
        diff = symmetric_difference(new, sketch)
        if diff is not None and 0 < diff <= window:
            out.append(Near(output_id, diff, "population"))
    return out


def near_cells(
    new: Mapping[Key, int], earlier: Mapping[int, Mapping[Key, int]], window: int
) -> list[Near]:
    """Earlier tables sharing a cell with ``new`` whose counts differ by 1..window."""
    out = []
    for output_id, cells in sorted(earlier.items()):
        smallest = None
        for key, count in new.items():
            other = cells.get(key)
            if other is None:
                continue
            diff = abs(count - other)
            if 0 < diff <= window and (smallest is None or diff < smallest):
                smallest = diff
        if smallest is not None:
            out.append(Near(output_id, smallest, "cells"))
    return out
