"""One small synthetic region, ingested into a real lake, shared by the planning tests.

Building it takes 20-40 s, so it is built once per test process (module-level cache)
and every test directory that needs it re-exports the :func:`region_lake` fixture from
its conftest. Tests must not write to it except to the derived zone.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

PERSONS = 4000
FIRST_YEAR, LAST_YEAR = 2023, 2025
SEED = 1


@dataclass(frozen=True)
class RegionLake:
    """A built lake, its synthetic region (flows and truth) and its config dir (key)."""

    lake: Path
    region: Path
    config: Path

    @property
    def truth(self) -> Path:
        return self.region / "truth"


_BUILT: dict[str, RegionLake] = {}


def build_region_lake() -> RegionLake:
    """Generate and ingest the region once per process."""
    if "lake" in _BUILT:
        return _BUILT["lake"]
    from bmb.lake.store import Lake
    from bmb.pipeline.bootstrap import bootstrap
    from bmb.pipeline.ingest import ingest
    from bmb.synth.generator import SynthOptions, generate

    base = Path(tempfile.mkdtemp(prefix="bmb-region-lake-"))
    atexit.register(shutil.rmtree, base, True)
    config = base / "config"
    os.environ["XDG_CONFIG_HOME"] = str(config)
    region = base / "region"
    generate(
        SynthOptions(
            persons=PERSONS,
            first_year=FIRST_YEAR,
            last_year=LAST_YEAR,
            seed=SEED,
            out=region,
            formats=("flows",),
        )
    )
    lake, _ = Lake.create(base / "lake")
    bootstrap(lake)
    ingest(base / "lake", [region / "flows"])
    built = RegionLake(base / "lake", region, config)
    _BUILT["lake"] = built
    return built


@pytest.fixture(scope="session")
def region_lake() -> RegionLake:
    """The shared synthetic region lake (XDG_CONFIG_HOME points at its key)."""
    built = build_region_lake()
    os.environ["XDG_CONFIG_HOME"] = str(built.config)
    return built
