"""One synthetic region per test session, read once into Arrow tables.

The region is the smallest that gives stable rates (about 48,000 person-years); every
test of tests/synth reads it. It is generated once per test run: under pytest-xdist the
first worker to ask generates it into the run's shared temporary folder, under a file
lock, and the others read the same files.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.json as pj
import pytest

from bmb.domain.flows import LAYOUTS, parse_file_name
from bmb.synth.generator import SynthOptions, generate
from tests.synth.flowparse import read_table

#: The session region: residents at the start, years, seed.
PERSONS = 24_000
FIRST_YEAR, LAST_YEAR = 2024, 2025
SEED = 7


@dataclass
class Region:
    """A generated region and its flows as Arrow tables, read on first use."""

    out: Path
    skip: frozenset[tuple[str, int]] = frozenset()
    _tables: dict[str, pa.Table] = field(default_factory=dict)
    _fhir: dict[str, pa.Table] = field(default_factory=dict)

    def files(self, layout: str) -> list[Path]:
        flow = LAYOUTS[layout].flow
        return sorted(
            p
            for p in (self.out / "flows" / flow).glob("*.txt")
            if (parsed := parse_file_name(p.name)) is not None and parsed[0].name == layout
        )

    def fhir(self, rtype: str) -> pa.Table:
        """The resources of one type, parsed by Arrow's JSON reader (fails on bad JSON)."""
        if rtype not in self._fhir:
            self._fhir[rtype] = pj.read_json(self.out / "fhir" / f"{rtype}.ndjson")
        return self._fhir[rtype]

    def table(self, layout: str) -> pa.Table:
        if layout not in self._tables:
            self._tables[layout] = read_table(self.files(layout), LAYOUTS[layout], self.skip)
        return self._tables[layout]


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _shared(tmp_path_factory: pytest.TempPathFactory, name: str, opts: dict[str, Any]) -> Path:
    """A region generated once per run, whichever xdist worker asks first."""
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        out = tmp_path_factory.mktemp("synth") / name
        generate(SynthOptions(out=out, **opts))
        return out
    root = tmp_path_factory.getbasetemp().parent
    out = root / f"synth-{name}"
    with _locked(root / f"synth-{name}.lock"):
        if not (out / "manifest.json").exists():
            shutil.rmtree(out, ignore_errors=True)
            generate(SynthOptions(out=out, **opts))
    return out


@pytest.fixture(scope="session")
def region(tmp_path_factory: pytest.TempPathFactory) -> Region:
    """24,000 residents over 2024-2025, flows and FHIR, no faults."""
    opts = {"persons": PERSONS, "first_year": FIRST_YEAR, "last_year": LAST_YEAR, "seed": SEED}
    return Region(_shared(tmp_path_factory, "region", opts))


@pytest.fixture(scope="session")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Region:
    """3,000 residents over one year with 2% of flow records corrupted."""
    opts = {"persons": 3_000, "first_year": 2024, "last_year": 2024, "seed": 11}
    out = _shared(tmp_path_factory, "faulty", {**opts, "error_rate": 0.02})
    faults = json.loads((out / "faults.json").read_text())["faults"]
    skip = frozenset((Path(f["file"]).name, int(f["line"])) for f in faults)
    return Region(out, skip)
