"""Fixtures of the engine tests (shared with the analytics spec suites)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.engine_fixtures import ENGINES, CdmWorld, make_world


@pytest.fixture(params=ENGINES)
def world(request: pytest.FixtureRequest) -> Iterator[CdmWorld]:
    yield from make_world(request.param)
