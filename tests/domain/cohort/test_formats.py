"""ATLAS/Circe import and BMB's YAML form: coverage, round trips, error paths."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from bmb.domain.cohort import CohortDefinitionError, Domain, DrugExposureExit, Limit
from bmb.domain.cohort.circe import from_circe
from bmb.domain.cohort.mapping import from_mapping, to_mapping


def _expressions(fixtures_dir: Path) -> list[Path]:
    root = fixtures_dir / "circe"
    files = sorted(root.glob("phenotype-library/*.json"))
    files += sorted(
        p
        for p in root.glob("circe-be-cohortgeneration/cohortgeneration/*/*.json")
        if not p.stem.endswith(("_PREP", "_VERIFY")) and "firstOccurrence" not in p.name
    )
    return files


def test_every_atlas_fixture_imports_and_round_trips_through_yaml(fixtures_dir: Path) -> None:
    files = _expressions(fixtures_dir)
    assert len(files) == 22
    for path in files:
        definition = from_circe(json.loads(path.read_text()), source=path.name)
        text = yaml.safe_dump(to_mapping(definition), sort_keys=False)
        assert from_mapping(yaml.safe_load(text), source=path.name) == definition, path.name


def test_all_criteria_expression_maps_every_domain(fixtures_dir: Path) -> None:
    path = (
        fixtures_dir
        / "circe/circe-be-cohortgeneration/cohortgeneration/allCriteria/allCriteriaExpression.json"
    )
    definition = from_circe(json.loads(path.read_text()))
    domains = set()
    for rule in definition.inclusion_rules:
        for cc in rule.group.criteria:
            domains.add(cc.criterion.domain)
    assert {
        Domain.DRUG_EXPOSURE,
        Domain.MEASUREMENT,
        Domain.SPECIMEN,
        Domain.VISIT_OCCURRENCE,
    } <= domains


def test_phenotype_with_custom_era_exit(fixtures_dir: Path) -> None:
    doc = json.loads(
        (
            fixtures_dir
            / "circe/circe-be-cohortgeneration/cohortgeneration/exits"
            / "continuousExposureExpression.json"
        ).read_text()
    )
    definition = from_circe(doc)
    assert isinstance(definition.exit, DrugExposureExit)


def _minimal() -> dict[str, Any]:
    return {
        "ConceptSets": [],
        "PrimaryCriteria": {
            "CriteriaList": [{"ConditionOccurrence": {}}],
            "ObservationWindow": {"PriorDays": 0, "PostDays": 0},
            "PrimaryCriteriaLimit": {"Type": "All"},
        },
    }


def test_unsupported_circe_attribute_names_its_path() -> None:
    doc = _minimal()
    doc["PrimaryCriteria"]["CriteriaList"][0]["ConditionOccurrence"]["Colour"] = "red"
    with pytest.raises(
        CohortDefinitionError,
        match=r"x\.json PrimaryCriteria\.CriteriaList\[0\]\.ConditionOccurrence\.Colour: "
        "unsupported",
    ):
        from_circe(doc, source="x.json")


def test_unsupported_circe_criterion_type_names_its_path() -> None:
    doc = _minimal()
    doc["PrimaryCriteria"]["CriteriaList"][0] = {"LocationRegion": {"CodesetId": 1}}
    with pytest.raises(CohortDefinitionError, match="unsupported criterion type 'LocationRegion'"):
        from_circe(doc)


def test_circe_limits_default_to_first_and_are_case_insensitive() -> None:
    doc = _minimal()
    doc["ExpressionLimit"] = {"Type": "LAST"}
    definition = from_circe(doc)
    assert definition.expression_limit is Limit.LAST
    assert definition.primary.limit is Limit.ALL


def test_yaml_errors_name_the_path() -> None:
    doc = {"entry": {"events": [{"drug_exposure": {"days_supply": {"gte": "many"}}}]}}
    with pytest.raises(
        CohortDefinitionError,
        match=r"entry\.events\[0\]\.drug_exposure\.days_supply\.gte: bad value",
    ):
        from_mapping(doc)


def test_yaml_unknown_key_is_refused() -> None:
    doc = {"entry": {"events": [{"death": {}}]}, "exits": {}}
    with pytest.raises(CohortDefinitionError, match="exits: unsupported cohort attribute"):
        from_mapping(doc)
