"""k-anonymity, l-diversity and re-identification risk of extracts."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter, defaultdict
from collections.abc import Hashable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bmb.domain.disclosure.anonymity import ExtractRows, anonymize, generalize_row
from bmb.domain.disclosure.hierarchies import HIDDEN, Hierarchy, QiKind
from bmb.domain.disclosure.policy import OutputPolicy
from bmb.domain.disclosure.risk import measure_risk

DISTRICT = {1: "Genova centro", 2: "Genova centro", 3: "Valpolcevera", 4: "Savona"}
PROVINCE = {"Genova centro": "GE", "Valpolcevera": "GE", "Savona": "SV"}
PLACE = Hierarchy(
    "location_id",
    QiKind.PLACE,
    (("district", DISTRICT), ("province", PROVINCE)),
    demographic=True,
)
AGE = Hierarchy("year_of_birth", QiKind.NUMBER, demographic=True)
SEX = Hierarchy("sex", QiKind.SEX, demographic=True)


def test_hierarchies_generalize_level_by_level() -> None:
    assert [AGE.generalize(1963, lv) for lv in range(5)] == [
        1963,
        "1960-1964",
        "1960-1969",
        "1960-1979",
        HIDDEN,
    ]
    day = dt.date(2024, 5, 17)
    dates = Hierarchy("d", QiKind.DATE)
    assert [dates.generalize(day, lv) for lv in range(5)] == [
        day,
        "2024-05",
        "2024-Q2",
        "2024",
        HIDDEN,
    ]
    assert [PLACE.generalize(3, lv) for lv in range(4)] == [3, "Valpolcevera", "GE", HIDDEN]
    assert SEX.generalize("F", 1) == HIDDEN
    assert AGE.generalize(None, 2) is None


def rows_for(people: list[tuple[int, int, str]]) -> ExtractRows:
    return ExtractRows(
        persons=list(range(len(people))),
        qi=[(yob, loc, sex) for yob, loc, sex in people],
        sensitive=[() for _ in people],
    )


people_st = st.lists(
    st.tuples(st.integers(1930, 2010), st.sampled_from([1, 2, 3, 4]), st.sampled_from("FM")),
    min_size=0,
    max_size=120,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(people_st, st.integers(2, 6))
def test_every_released_class_has_k_persons(people: list[tuple[int, int, str]], k: int) -> None:
    policy = OutputPolicy(k=k, max_suppressed_fraction=0.1)
    rows = rows_for(people)
    result = anonymize(rows, [AGE, PLACE, SEX], policy)
    kept = [
        generalize_row(q, result.node, [AGE, PLACE, SEX])
        for p, q in zip(rows.persons, rows.qi, strict=True)
        if p not in result.suppressed
    ]
    if result.satisfied:
        assert len(result.suppressed) <= int(0.1 * len(people))
        assert all(n >= k for n in Counter(kept).values())
        if kept:
            assert result.risk.prosecutor_max <= 1 / k


def test_the_least_general_solution_is_chosen() -> None:
    rng = random.Random(3)
    people = [(rng.choice([1960, 1961]), 1, rng.choice("FM")) for _ in range(200)]
    result = anonymize(rows_for(people), [AGE, PLACE, SEX], OutputPolicy(k=5))
    assert result.node == (0, 0, 0)  # already 5-anonymous: nothing generalized
    assert result.risk.prosecutor_max <= 0.2


def test_l_diversity_hides_a_class_that_shares_one_diagnosis() -> None:
    persons = list(range(12))
    qi = [(1950, 1, "F")] * 6 + [(1980, 4, "M")] * 6
    diagnosis = [("diabetes",)] * 6 + [("asthma",), ("flu",)] * 3
    policy = OutputPolicy(k=3, l_diversity=2, max_suppressed_fraction=0.5)
    result = anonymize(ExtractRows(persons, qi, diagnosis), [AGE, PLACE, SEX], policy)
    assert result.satisfied
    assert result.suppressed == frozenset(range(6)) or result.node != (0, 0, 0)
    assert result.l_div >= 2


def test_persons_with_several_rows_are_classed_by_all_their_rows() -> None:
    # two persons share their first row but not their second: not the same class
    rows = ExtractRows(
        persons=[1, 1, 2, 2, 3, 3],
        qi=[
            (1950, 1, "F"),
            (1950, 2, "F"),
            (1950, 1, "F"),
            (1950, 4, "F"),
            (1950, 1, "F"),
            (1950, 2, "F"),
        ],
        sensitive=[()] * 6,
    )
    result = anonymize(rows, [AGE, PLACE, SEX], OutputPolicy(k=2, max_suppressed_fraction=0))
    sigs: dict[int, set[tuple[Hashable, ...]]] = defaultdict(set)
    for p, q in zip(rows.persons, rows.qi, strict=True):
        sigs[p].add(generalize_row(q, result.node, [AGE, PLACE, SEX]))
    assert sigs[1] == sigs[2] == sigs[3]


def test_unreachable_k_is_reported_not_hidden() -> None:
    result = anonymize(
        rows_for([(1950, 1, "F"), (1990, 4, "M")]),
        [AGE, PLACE, SEX],
        OutputPolicy(k=5, max_suppressed_fraction=0),
    )
    assert not result.satisfied


def test_journalist_risk_uses_population_classes() -> None:
    people = [(1950 + i % 3, 1, "F") for i in range(30)]
    population = {(1950, 1, "F"): 500, (1951, 1, "F"): 400, (1952, 1, "F"): 100}
    result = anonymize(
        rows_for(people), [AGE, PLACE, SEX], OutputPolicy(k=5), population=population
    )
    assert result.risk.prosecutor_max == pytest.approx(1 / 10)
    assert result.risk.journalist_max == pytest.approx(1 / 100)
    assert result.risk.marketer == pytest.approx((10 / 500 + 10 / 400 + 10 / 100) / 30)


def test_measure_risk_on_a_known_example() -> None:
    report = measure_risk([1, 2, 2, 5, 5, 5, 5, 5], None, k=2)
    assert report.prosecutor_max == 1.0
    assert report.prosecutor_mean == pytest.approx(3 / 8)
    assert report.classes == 3
    assert report.prosecutor_share_above == pytest.approx(1 / 8)
    assert report.journalist_max is None
