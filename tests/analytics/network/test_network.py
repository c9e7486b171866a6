"""The comorbidity network: pair counts by hand, measures by definition, GraphML."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest

from bmb.analytics.network import Network, comorbidity_network, to_graphml
from bmb.analytics.population import PopulationSpec
from bmb.analytics.registry import build_registry
from bmb.engines.lake import LakeEngine, open_lake
from tests.region_lake import RegionLake


@pytest.fixture(scope="module")
def engine(region_lake: RegionLake) -> Iterator[LakeEngine]:
    with open_lake(region_lake.lake) as e:
        yield e


@pytest.fixture(scope="module")
def net(engine: LakeEngine) -> Network:
    reg = build_registry(engine, PopulationSpec.years([2025]), prefix="t_net_reg")
    return comorbidity_network(engine, reg, 2025)


def test_every_pair_once_with_counts_from_the_registry(engine: LakeEngine, net: Network) -> None:
    k = net.nodes.num_rows
    assert net.pairs.num_rows == k * (k - 1) // 2
    flags = engine.query("SELECT person_id, condition FROM t_net_reg WHERE year = 2025").to_pylist()
    by_person: dict[int, set[str]] = {}
    for f in flags:
        by_person.setdefault(f["person_id"], set()).add(f["condition"])
    for row in net.pairs.to_pylist():
        a, b = row["condition_a"], row["condition_b"]
        assert row["together"] == sum(1 for s in by_person.values() if a in s and b in s)
        assert row["cases_a"] == sum(1 for s in by_person.values() if a in s)


def test_measures_follow_their_definitions(net: Network) -> None:
    for r in net.pairs.to_pylist():
        n, pa_, pb, c = r["population"], r["cases_a"], r["cases_b"], r["together"]
        if pa_ == 0 or pb == 0:
            continue
        assert r["rr"] == pytest.approx(c * n / (pa_ * pb))
        phi = (c * n - pa_ * pb) / math.sqrt(pa_ * pb * (n - pa_) * (n - pb))
        assert r["phi"] == pytest.approx(phi)
        if c > 0:
            assert r["rr_lower"] < r["rr"] < r["rr_upper"]
            assert r["phi_lower"] < r["phi"] < r["phi_upper"]
        if r["expected_adjusted"] > 0:
            assert r["rr_adjusted_lower"] <= r["rr_adjusted"] <= r["rr_adjusted_upper"]
    # Edges: FDR-significant positive associations only.
    for r in net.edges.to_pylist():
        assert r["q_adjusted"] < net.alpha
        assert r["rr_adjusted"] > 1
    assert net.edges.num_rows > 0
    # Sex-exclusive pairs cannot co-occur: no expected count, never an edge.
    bp = next(
        r
        for r in net.pairs.to_pylist()
        if {r["condition_a"], r["condition_b"]} == {"cancer_breast", "cancer_prostate"}
    )
    assert bp["together"] == 0
    assert not bp["edge"]


def test_graphml_is_well_formed_with_every_edge(net: Network) -> None:
    root = ET.fromstring(to_graphml(net))
    ns = {"g": "http://graphml.graphdrawing.org/xmlns"}
    graph = root.find("g:graph", ns)
    assert graph is not None
    assert len(graph.findall("g:node", ns)) == net.nodes.num_rows
    assert len(graph.findall("g:edge", ns)) == net.edges.num_rows
