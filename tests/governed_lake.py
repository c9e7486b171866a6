"""A small governed region for tests: a synthetic lake, its key, and a place hierarchy.

Built once per test session by the fixtures that need it (about 10-20 s for 1,500
persons): the synthetic region generator, then ingestion, exactly as users run them.
The region's districts are written as ``derived.place_hierarchy`` so that extracts can
generalize comuni to districts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from bmb.lake.store import Lake
from bmb.pipeline.bootstrap import bootstrap
from bmb.pipeline.ingest import ingest
from bmb.synth.generator import SynthOptions, generate


@dataclass(frozen=True)
class RegionLake:
    root: Path
    config: Path  # XDG_CONFIG_HOME holding the lake's keys

    def master_key(self) -> bytes:
        old = os.environ.get("XDG_CONFIG_HOME")
        os.environ["XDG_CONFIG_HOME"] = str(self.config)
        try:
            return Lake.open(self.root).key()
        finally:
            if old is None:
                os.environ.pop("XDG_CONFIG_HOME", None)
            else:
                os.environ["XDG_CONFIG_HOME"] = old


_BUILT: dict[tuple[int, int], RegionLake] = {}


def build_region_lake(base: Path, *, persons: int = 1500, seed: int = 7) -> RegionLake:
    """The region's lake, built once per process (later calls reuse the first one)."""
    cached = _BUILT.get((persons, seed))
    if cached is not None and cached.root.is_dir():
        return cached
    built = _build(base, persons, seed)
    _BUILT[(persons, seed)] = built
    return built


def _build(base: Path, persons: int, seed: int) -> RegionLake:
    config = base / "config"
    old = os.environ.get("XDG_CONFIG_HOME")
    os.environ["XDG_CONFIG_HOME"] = str(config)
    try:
        region = base / "region"
        generate(
            SynthOptions(
                persons=persons,
                first_year=2024,
                last_year=2024,
                seed=seed,
                out=region,
                formats=("flows",),
            )
        )
        lake, _ = Lake.create(base / "lake")
        bootstrap(lake)
        ingest(base / "lake", [region / "flows"])
        lake = Lake.open(base / "lake")
        lake.write_derived("place_hierarchy", _districts(), note="districts of Liguria")
    finally:
        if old is None:
            os.environ.pop("XDG_CONFIG_HOME", None)
        else:
            os.environ["XDG_CONFIG_HOME"] = old
    return RegionLake(base / "lake", config)


def _districts() -> pa.Table:
    from bmb.synth.region import load_region

    region = load_region("liguria")
    rows: dict[int, str] = {}
    cells = region.cells
    for istat, district in zip(cells.istat, cells.district, strict=True):
        rows.setdefault(int(istat), str(district))
    return pa.table(
        {
            "location_id": pa.array(list(rows), pa.int64()),
            "district": pa.array(list(rows.values()), pa.string()),
        }
    )
