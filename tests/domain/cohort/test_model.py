"""The cohort model refuses invalid definitions on construction, with clear messages."""

from __future__ import annotations

import datetime as dt

import pytest

from bmb.domain.cohort import (
    CohortDefinition,
    CohortDefinitionError,
    ConceptIn,
    CriteriaGroup,
    Criterion,
    Domain,
    Filter,
    Limit,
    NumericRange,
    Occurrence,
    Period,
    PrimaryCriteria,
    TextFilter,
    WindowBound,
)
from bmb.domain.cohort import api as c


def test_criterion_refuses_an_attribute_its_domain_lacks() -> None:
    with pytest.raises(
        CohortDefinitionError, match="condition_occurrence has no attribute 'days_supply'"
    ):
        Criterion(
            Domain.CONDITION_OCCURRENCE, filters=(Filter("days_supply", NumericRange("gte", 30)),)
        )


def test_criterion_refuses_a_test_of_the_wrong_kind() -> None:
    with pytest.raises(CohortDefinitionError, match="takes a numeric test"):
        Criterion(
            Domain.DRUG_EXPOSURE, filters=(Filter("days_supply", TextFilter("contains", "x")),)
        )


def test_observation_periods_have_no_concept_set() -> None:
    with pytest.raises(CohortDefinitionError, match="no concept to match"):
        Criterion(Domain.OBSERVATION_PERIOD, codeset_id=1)


def test_between_needs_an_extent() -> None:
    with pytest.raises(CohortDefinitionError, match="needs an extent"):
        NumericRange("bt", 1)


def test_unknown_range_operator_lists_the_valid_ones() -> None:
    with pytest.raises(CohortDefinitionError, match="one of lt, lte"):
        NumericRange("greater", 1)


def test_window_days_are_never_negative() -> None:
    with pytest.raises(CohortDefinitionError, match="coeff -1 for before"):
        WindowBound(-30, -1)


def test_occurrence_type_is_checked() -> None:
    with pytest.raises(CohortDefinitionError, match="occurrence type"):
        Occurrence(-99, 1)  # type: ignore[arg-type]


def test_at_least_group_needs_a_count() -> None:
    with pytest.raises(CohortDefinitionError, match="AT_LEAST group needs a count"):
        CriteriaGroup("AT_LEAST")  # type: ignore[arg-type]


def test_definition_refuses_a_missing_concept_set() -> None:
    primary = PrimaryCriteria((Criterion(Domain.CONDITION_OCCURRENCE, codeset_id=3),))
    with pytest.raises(CohortDefinitionError, match="refers to concept set 3"):
        CohortDefinition(primary)


def test_entry_events_are_required() -> None:
    with pytest.raises(CohortDefinitionError, match="at least one entry event"):
        PrimaryCriteria(())


def test_period_cannot_end_before_it_starts() -> None:
    with pytest.raises(CohortDefinitionError, match="ends"):
        Period(dt.date(2020, 1, 2), dt.date(2020, 1, 1))


def test_qualified_limit_without_additional_criteria_is_normalized() -> None:
    primary = PrimaryCriteria((Criterion(Domain.DEATH),))
    assert CohortDefinition(primary, qualified_limit=Limit.ALL) == CohortDefinition(primary)


def test_definitions_are_frozen_and_hashable() -> None:
    d = c.Cohort("x").entry(c.death()).build()
    with pytest.raises(AttributeError):
        d.name = "y"  # type: ignore[misc]
    assert hash(d) == hash(c.Cohort("x").entry(c.death()).build())


def test_fluent_api_builds_the_expected_model() -> None:
    d = (
        c.Cohort("new users")
        .concept_set(0, "drug", c.concept(1, descendants=True))
        .concept_set(1, "outcome", c.concept(2), c.concept(3, exclude=True))
        .entry(c.drug_exposure(0, first=True, days_supply=c.gte(30)), prior_days=365)
        .include("adult", c.demographics(age=c.gte(18)))  # type: ignore[arg-type]
        .include("no outcome before", c.none(c.condition_occurrence(1), c.window(None, -1)))
        .censor(c.death())
        .exit_at_end_of_exposure(0, gap_days=30, persistence=7)
        .build()
    )

    assert d.primary.prior_days == 365
    assert d.primary.criteria[0].filter("days_supply") == NumericRange("gte", 30)
    rule = d.inclusion_rules[1].group.criteria[0]
    assert rule.occurrence.count == 0
    assert rule.start_window.start == WindowBound(None, -1)
    assert rule.start_window.end == WindowBound(1, -1)
    assert d.exit is not None
    assert d.rule_names == ("adult", "no outcome before")
    assert d.concept_set(1).items[1].is_excluded


def test_fluent_concepts_filter() -> None:
    crit = c.visit_occurrence(0, type=c.concepts(44818517, exclude=True))
    assert crit.filter("type") == ConceptIn((44818517,), exclude=True)


def test_building_without_entry_events_fails() -> None:
    with pytest.raises(CohortDefinitionError, match="entry events"):
        c.Cohort("nothing").build()
