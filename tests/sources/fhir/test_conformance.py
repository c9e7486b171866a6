"""The SQL-on-FHIR v2 conformance suite, one pytest case per suite test (reference path)."""

from __future__ import annotations

from typing import Any

import pytest

from bmb.sources.fhir.conformance import Case, run_case
from bmb.sources.fhir.reference import evaluate_view
from bmb.sources.fhir.viewdef import parse_view
from tests.sources.fhir.conftest import suite_cases

CASES = suite_cases()


def _reference(view: dict[str, Any], resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return evaluate_view(parse_view(view), resources)


def test_suite_has_the_published_cases() -> None:
    assert len(CASES) == 134
    assert sum(c.shareable for c in CASES) == 123


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case_passes_on_the_reference_path(case: Case) -> None:
    outcome = run_case(case, _reference)

    assert outcome.passed, outcome.reason
