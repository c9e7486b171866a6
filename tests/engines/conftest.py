"""The synthetic region's lake, built once per test session for the session tests."""

from __future__ import annotations

import pytest

from tests.governed_lake import RegionLake, build_region_lake


@pytest.fixture(scope="session")
def region_lake(tmp_path_factory: pytest.TempPathFactory) -> RegionLake:
    return build_region_lake(tmp_path_factory.mktemp("governed_region"))
