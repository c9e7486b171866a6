"""Fixtures of the analytics spec suites (engines, CDM worlds)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.engine_fixtures import ENGINES, CdmWorld, make_world


@pytest.fixture(params=ENGINES)
def world(request: pytest.FixtureRequest) -> Iterator[CdmWorld]:
    """An engine with an empty CDM, once per engine."""
    yield from make_world(request.param)
