"""Every ATLAS definition in the fixtures compiles and runs on every engine.

Circe's own ``allCriteriaTest`` only checks that the SQL of a definition using every
criterion type and attribute executes; BMB does the same, except for the two drug
exposure attributes whose columns CDM v5.4 dropped (``effective_drug_dose``,
``dose_unit_concept_id``): compiling them is a clear error, and the test runs the
definition without them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bmb.analytics.cohort import compile_cohort, generate_cohort
from bmb.domain.cohort import CohortDefinitionError
from bmb.domain.cohort.circe import from_circe
from tests.engine_fixtures import CdmWorld

ALL_CRITERIA = (
    "circe/circe-be-cohortgeneration/cohortgeneration/allCriteria/allCriteriaExpression.json"
)


def _strip(node: Any, keys: set[str]) -> Any:
    if isinstance(node, dict):
        return {k: _strip(v, keys) for k, v in node.items() if k not in keys}
    if isinstance(node, list):
        return [_strip(v, keys) for v in node]
    return node


def test_cdm_v53_only_attributes_are_a_clear_compile_error(fixtures_dir: Path) -> None:
    definition = from_circe(json.loads((fixtures_dir / ALL_CRITERIA).read_text()))
    with pytest.raises(
        CohortDefinitionError, match=r"effective_drug_dose, which OMOP CDM v5\.4 does not have"
    ):
        compile_cohort(definition, "t")


def test_all_criteria_definition_runs(world: CdmWorld, fixtures_dir: Path) -> None:
    doc = _strip(
        json.loads((fixtures_dir / ALL_CRITERIA).read_text()), {"EffectiveDrugDose", "DoseUnit"}
    )
    world.load({})

    result = generate_cohort(world.engine, from_circe(doc))

    assert result.records == 0
    assert len(result.by_event.rules) == 14


PHENOTYPES = ["23", "24", "25", "77", "305", "344", "1036", "1071"]


def test_phenotype_library_definitions_run_on_eunomia(
    eunomia: CdmWorld, fixtures_dir: Path
) -> None:
    persons = {}
    for phenotype in PHENOTYPES:
        doc = json.loads(
            (fixtures_dir / "circe" / "phenotype-library" / f"{phenotype}.json").read_text()
        )

        result = generate_cohort(eunomia.engine, from_circe(doc, source=f"{phenotype}.json"))

        assert result.qualified_events <= result.primary_events
        assert result.persons <= result.by_person.base
        persons[phenotype] = result.persons
    assert persons["1071"] > 0  # persons observed on 1 January of 2012-2022, aged 0-100
