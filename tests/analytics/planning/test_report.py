"""The planning report: every section, self-contained, counts protected."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

import pytest

from bmb.analytics.planning.report import _protected_counts, planning_report
from bmb.analytics.risk import Outcome, train_risk_model
from bmb.domain.disclosure import preset
from bmb.engines.lake import LakeEngine, open_lake
from tests.region_lake import RegionLake


@pytest.fixture(scope="module")
def engine(region_lake: RegionLake) -> Iterator[LakeEngine]:
    with open_lake(region_lake.lake) as e:
        yield e


def _self_contained(html: str) -> None:
    assert "<script" not in html.lower()
    assert "<link" not in html.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "@import" not in html


def test_report_has_every_section_and_opens_offline(engine: LakeEngine) -> None:
    report = planning_report(
        engine, 2025, indicator_years=[2024, 2025], last_data=date(2025, 12, 31)
    )
    html = report.html
    _self_contained(html)
    for heading in (
        "Residents",
        "Chronic conditions",
        "Risk pyramid",
        "Risk of admission and death",
        "Comorbidity network",
        "Outcome indicators by hospital",
        "Methods",
    ):
        assert f">{heading}</h2>" in html
    assert html.count("<svg") >= 7  # pyramid x2, heat map, bands, network, 3 funnels
    assert "No risk model was given" in html
    assert report.provenance.snapshot_id
    assert report.provenance.snapshot_id in html or "snapshot" in html


@pytest.mark.slow
def test_report_scores_residents_with_a_given_model(engine: LakeEngine) -> None:
    model = train_risk_model(engine, Outcome.DEATH, 2023).model
    html = planning_report(engine, 2025, models=[model]).html
    _self_contained(html)
    assert "Death within 12 months" in html
    assert "expected events in the next 12 months" in html


def test_small_district_counts_are_suppressed_with_their_complement() -> None:
    out = _protected_counts({"001": 3, "002": 120, "003": 200}, preset("default"))
    assert out["001"] == "suppressed"
    # One small cell alone would be recovered from the total: a second cell goes too.
    assert sum(v == "suppressed" for v in out.values()) >= 2
    assert out["all"] != "suppressed" or out["003"] == "suppressed"
