"""The risk pyramid and resource bands on a real lake."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bmb.analytics.population import PopulationSpec
from bmb.analytics.stratification import StratificationResult, build_stratification
from bmb.analytics.stratification.summary import band_summary, kaiser_comparison, pyramid_counts
from bmb.engines.lake import LakeEngine, open_lake
from tests.region_lake import RegionLake


@pytest.fixture(scope="module")
def engine(region_lake: RegionLake) -> Iterator[LakeEngine]:
    with open_lake(region_lake.lake) as e:
        yield e


@pytest.fixture(scope="module")
def strat(engine: LakeEngine) -> StratificationResult:
    return build_stratification(engine, PopulationSpec.years([2024, 2025]))


def test_levels_follow_condition_counts_and_frailty(
    engine: LakeEngine, strat: StratificationResult
) -> None:
    rows = engine.query(f"SELECT * FROM {strat.table}").to_pylist()
    assert rows
    for r in rows:
        n, frail = r["n_conditions"], r["frail"]
        expected = 1 if n >= 4 or frail else 2 if n >= 2 else 3 if n == 1 else 4
        assert r["level"] == expected
        assert (r["resource_band"] == 0) == (r["cost_total"] == 0)
    reg = engine.query(
        f"SELECT person_id, year, count(*) AS n FROM {strat.registry.table} GROUP BY ALL"
    ).to_pylist()
    counts = {(x["person_id"], x["year"]): x["n"] for x in reg}
    assert all(r["n_conditions"] == counts.get((r["person_id"], r["year"]), 0) for r in rows)
    frail_by_admissions = [r for r in rows if r["ip_unplanned"] >= 2]
    assert all(r["level"] == 1 for r in frail_by_admissions)


def test_shares_sum_to_100_in_every_cut(engine: LakeEngine, strat: StratificationResult) -> None:
    counts = pyramid_counts(engine, strat).to_pylist()
    cuts: dict[tuple[int, str, str], float] = {}
    for r in counts:
        key = (r["year"], r["unit_code"], r["age_band"])
        cuts[key] = cuts.get(key, 0.0) + r["share"]
    assert all(abs(v - 100) < 1e-9 for v in cuts.values())
    kaiser = kaiser_comparison(engine, strat).to_pylist()
    for year in (2024, 2025):
        tiers = [k for k in kaiser if k["year"] == year]
        assert len(tiers) == 3
        assert sum(k["persons"] for k in tiers) == tiers[0]["population"]
        assert all(k["verdict"] in ("within", "above", "below") for k in tiers)
        assert all(k["lower"] <= k["share"] <= k["upper"] for k in tiers)


def test_bands_cut_users_at_the_percentiles(
    engine: LakeEngine, strat: StratificationResult
) -> None:
    bands = band_summary(engine, strat).to_pylist()
    for year in (2024, 2025):
        rows = {b["resource_band"]: b for b in bands if b["year"] == year}
        users = sum(b["persons"] for k, b in rows.items() if k > 0)
        # Bands 1..5 hold about 50, 30, 15, 4 and 1 percent of users.
        for band, share in ((1, 50), (2, 30), (3, 15), (4, 4)):
            assert abs(100 * rows[band]["persons"] / users - share) < 3, (year, band)
        assert abs(sum(b["cost_share"] for b in rows.values()) - 100) < 1e-6
        assert rows[5]["mean_cost"] > rows[4]["mean_cost"] > rows[1]["mean_cost"]
