"""Shared fixtures of the FHIR tests: the SQL-on-FHIR v2 conformance suite as cases."""

from __future__ import annotations

from pathlib import Path

import pytest

from bmb.sources.fhir.conformance import Case, load_suite

SUITE = Path(__file__).resolve().parents[3] / ".." / "shared" / "fixtures" / "sql-on-fhir-v2"


def suite_cases() -> list[Case]:
    """Every case of the suite (collected at import time, to parametrize tests)."""
    return load_suite(SUITE.resolve()) if SUITE.is_dir() else []


@pytest.fixture(scope="session")
def suite_dir(fixtures_dir: Path) -> Path:
    """``../shared/fixtures/sql-on-fhir-v2``."""
    return fixtures_dir / "sql-on-fhir-v2"
