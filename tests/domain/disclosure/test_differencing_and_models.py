"""The differencing sketch, the model rules, and the policy's own validation."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bmb.domain.disclosure.differencing import (
    PopulationSketch,
    near_cells,
    near_populations,
    symmetric_difference,
)
from bmb.domain.disclosure.models import ModelFacts, check_model
from bmb.domain.disclosure.policy import OutputPolicy, preset

ids = st.integers(min_value=1, max_value=2**63 - 1)


@settings(max_examples=100, deadline=None)
@given(st.sets(ids, min_size=0, max_size=300), st.sets(ids, max_size=8), st.sets(ids, max_size=8))
def test_small_differences_are_decoded_exactly(
    base: set[int], added: set[int], removed_from: set[int]
) -> None:
    removed = set(list(base)[: len(removed_from)])
    other = (base - removed) | (added - base)
    expected = len(base ^ other)
    assert symmetric_difference(PopulationSketch.of(base), PopulationSketch.of(other)) == expected


def test_large_differences_are_not_mistaken_for_small_ones() -> None:
    rng = random.Random(1)
    a = PopulationSketch.of(rng.getrandbits(62) for _ in range(5000))
    b = PopulationSketch.of(rng.getrandbits(62) for _ in range(5000))
    assert symmetric_difference(a, b) is None
    assert near_populations(a, {1: b}, window=10) == []


def test_sketches_round_trip_and_stay_small() -> None:
    sketch = PopulationSketch.of(range(100_000))
    data = sketch.to_bytes()
    assert len(data) < 2100
    assert PopulationSketch.from_bytes(data) == sketch


def test_near_populations_and_cells() -> None:
    base = PopulationSketch.of(range(1000))
    near = near_populations(PopulationSketch.of(range(1, 1000)), {7: base}, window=10)
    assert [(n.output_id, n.difference) for n in near] == [(7, 1)]
    same = near_populations(base, {7: base}, window=10)
    assert same == []  # an identical population reveals nothing new
    cells = near_cells({("F",): 120, ("M",): 80}, {3: {("F",): 118, ("M",): 200}}, window=10)
    assert [(n.output_id, n.difference, n.basis) for n in cells] == [(3, 2, "cells")]


def test_model_rules() -> None:
    policy = OutputPolicy()
    ok = check_model(ModelFacts(500, 5, {"sex=F": 260, "sex=M": 240}), policy)
    assert ok.passed
    bad = check_model(ModelFacts(14, 5, {"sex=F": 12, "sex=M": 2}), policy)
    assert not bad.passed
    assert any("degrees of freedom" in p for p in bad.problems)
    assert any("sex=M" in p for p in bad.problems)


def test_policies_validate_and_round_trip() -> None:
    assert preset("threshold10").threshold == 10
    policy = OutputPolicy(k=11, dp_epsilon=0.5)
    assert OutputPolicy.from_dict(policy.to_dict()) == policy
    with pytest.raises(ValueError, match="rounding"):
        OutputPolicy(rounding=0)
    with pytest.raises(ValueError, match="unknown settings"):
        OutputPolicy.from_dict({"treshold": 10})
    with pytest.raises(ValueError, match="unknown output policy"):
        preset("lax")
