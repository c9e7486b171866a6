"""Fixtures of the analytics spec suites (engines, CDM worlds)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from tests.engine_fixtures import ENGINES, CdmWorld, make_world


@pytest.fixture(params=ENGINES)
def world(request: pytest.FixtureRequest) -> Iterator[CdmWorld]:
    """An engine with an empty CDM, once per engine."""
    yield from make_world(request.param)


@pytest.fixture(scope="session")
def gibleed(fixtures_dir: Path) -> dict[str, pa.Table]:
    """Eunomia GiBleed (CDM v5.3 CSV, read into v5.4 Arrow tables), read once."""
    from bmb.sources.cdm_csv import read_cdm_csv

    return read_cdm_csv(fixtures_dir / "eunomia" / "GiBleed_5.3").tables


@pytest.fixture
def eunomia(world: CdmWorld, gibleed: dict[str, pa.Table]) -> CdmWorld:
    """An engine holding Eunomia GiBleed."""
    world.load(gibleed)
    return world
