"""The Circe engine's own cohort-generation cases, on every engine.

Each case of ``circe-be-cohortgeneration`` (OHDSI/circe-be's Java tests) loads its
``_PREP`` rows, generates one or more cohorts and must produce exactly the ``_VERIFY``
rows. Five Java tests mutate the expression between cohorts; those mutations are
reproduced here as data (JSON path, new value), applied cumulatively as in Java.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from bmb.analytics.cohort import generate_cohort
from bmb.domain.cohort import CohortDefinitionError
from bmb.domain.cohort.circe import from_circe
from tests.analytics.cohort.dbunit import read_dbunit
from tests.engine_fixtures import CdmWorld, engine_case_params

_FIRST_OCCURRENCE_TYPES = [
    "ConditionEra",
    "ConditionOccurrence",
    "DeviceExposure",
    "DrugEra",
    "DrugExposure",
    "Measurement",
    "Observation",
    "ProcedureOccurrence",
    "Specimen",
    "VisitOccurrence",
    "PayerPlanPeriod",  # has no concept: Java sets a codeset id the criterion ignores
]

# Java test -> list of (cohort id, expression file, cumulative edits (path, value)).
Edit = tuple[str, Any]
MUTATIONS: dict[str, list[tuple[int, str, list[Edit]]]] = {
    "firstOccurrenceTest": [
        (
            i + 1,
            "firstOccurrence/firstOccurrenceTestExpression.json",
            [
                (
                    "PrimaryCriteria.CriteriaList",
                    [
                        {
                            kind: {"First": True}
                            | ({} if kind == "PayerPlanPeriod" else {"CodesetId": 0})
                        }
                    ],
                )
            ],
        )
        for i, kind in enumerate(_FIRST_OCCURRENCE_TYPES)
    ],
    "testCorrelatedCriteriaCounts": [
        (1, "correlatedCriteria/countsExpression.json", []),
        (
            2,
            "correlatedCriteria/countsExpression.json",
            [
                ("AdditionalCriteria.CriteriaList.0.Occurrence.Type", 2),
                ("AdditionalCriteria.CriteriaList.0.Occurrence.Count", 1),
            ],
        ),
        (
            3,
            "correlatedCriteria/countsExpression.json",
            [
                ("AdditionalCriteria.CriteriaList.0.Occurrence.Type", 1),
                ("AdditionalCriteria.CriteriaList.0.Occurrence.Count", 0),
            ],
        ),
        (4, "correlatedCriteria/visitExpression.json", []),
    ],
    "testGroups": [
        (1, "correlatedCriteria/groupExpression.json", []),
        (
            2,
            "correlatedCriteria/groupExpression.json",
            [("AdditionalCriteria.Type", "AT_LEAST"), ("AdditionalCriteria.Count", 2)],
        ),
        (
            3,
            "correlatedCriteria/groupExpression.json",
            [("AdditionalCriteria.Type", "AT_MOST"), ("AdditionalCriteria.Count", 2)],
        ),
        (
            4,
            "correlatedCriteria/groupExpression.json",
            [
                ("AdditionalCriteria.Type", "ALL"),
                ("AdditionalCriteria.Count", 2),
                ("AdditionalCriteria.Groups.0.Type", "AT_MOST"),
                ("AdditionalCriteria.Groups.0.Count", 0),
            ],
        ),
        (
            5,
            "correlatedCriteria/groupExpression.json",
            [("AdditionalCriteria.Type", "ALL"), ("AdditionalCriteria.Groups", [])],
        ),
    ],
    "testLimits": [
        (1, "limits/limitExpression.json", []),
        (2, "limits/limitExpression.json", [("ExpressionLimit.Type", "first")]),
        (
            3,
            "limits/limitExpression.json",
            [("ExpressionLimit.Type", "first"), ("QualifiedLimit.Type", "first")],
        ),
        (
            4,
            "limits/limitExpression.json",
            [
                ("ExpressionLimit.Type", "first"),
                ("QualifiedLimit.Type", "first"),
                ("PrimaryCriteria.PrimaryCriteriaLimit.Type", "first"),
            ],
        ),
        (
            5,
            "limits/limitExpression.json",
            [
                ("ExpressionLimit.Type", "first"),
                ("QualifiedLimit.Type", "first"),
                ("PrimaryCriteria.PrimaryCriteriaLimit.Type", "last"),
            ],
        ),
    ],
    "testContinuousExposure": [
        (1, "exits/continuousExposureExpression.json", []),
        (
            2,
            "exits/continuousExposureExpression.json",
            [("PrimaryCriteria.PrimaryCriteriaLimit.Type", "First")],
        ),
    ],
}


def _root(fixtures_dir: Path) -> Path:
    return fixtures_dir / "circe" / "circe-be-cohortgeneration"


def _manifest(fixtures_dir: Path) -> dict[str, dict[str, Any]]:
    data = json.loads((_root(fixtures_dir) / "MANIFEST.json").read_text())
    return {t["java_test"]: t for t in data["tests"]}


def _edit(doc: dict[str, Any], path: str, value: Any) -> None:
    node: Any = doc
    keys = path.split(".")
    for key in keys[:-1]:
        node = node[int(key)] if isinstance(node, list) else node[key]
    node[keys[-1]] = value


def _cohorts(manifest: dict[str, Any], root: Path) -> list[tuple[int, dict[str, Any]]]:
    name = manifest["java_test"]
    if name in MUTATIONS:
        out = []
        for cohort_id, file, edits in MUTATIONS[name]:
            doc = json.loads((root / "cohortgeneration" / file).read_text())
            for path, value in edits:
                _edit(doc, path, copy.deepcopy(value))
            out.append((cohort_id, doc))
        return out
    return [(1, json.loads((root / manifest["expression"]).read_text()))]


CASES = [
    "firstOccurrenceTest",
    "testCorrelatedCriteriaCounts",
    "testGroups",
    "testLimits",
    "testSimpleInclusionRule",
    "testContinuousExposure",
    "testContinuousExposureCensor",
    "testFixedOffset",
    "testFixedOffsetCensor",
    "testCensorEvents",
    "testCensorWindow",
    "testMixedConceptsets",
    "testEraWithDupes",
]


def test_every_manifest_case_is_covered(fixtures_dir: Path) -> None:
    manifest = _manifest(fixtures_dir)
    assert sorted(manifest) == sorted(CASES)
    mutated = {n for n, t in manifest.items() if t["expression_mutated_in_java"]}
    assert mutated == set(MUTATIONS)


# Cases that run on Spark in CI (one per exit strategy and report); the rest are slow.
SPARK_IN_CI = {"testSimpleInclusionRule", "testContinuousExposureCensor", "testCensorWindow"}


@pytest.mark.parametrize(
    ("case", "world"), engine_case_params(CASES, SPARK_IN_CI), indirect=["world"]
)
def test_circe_case_produces_expected_rows(case: str, world: CdmWorld, fixtures_dir: Path) -> None:
    root = _root(fixtures_dir)
    manifest = _manifest(fixtures_dir)[case]
    world.load(read_dbunit(root / manifest["shared_prep"], root / manifest["prep"]))
    expected_doc = json.loads((root / manifest["verify"]).read_text())

    got = []
    results = {}
    for cohort_id, doc in _cohorts(manifest, root):
        result = generate_cohort(world.engine, from_circe(doc, source=case), cohort_id=cohort_id)
        results[cohort_id] = result
        got += [
            (
                r["cohort_definition_id"],
                r["subject_id"],
                str(r["cohort_start_date"]),
                str(r["cohort_end_date"]),
            )
            for r in result.rows.to_pylist()
        ]

    cohort_key = next(k for k in expected_doc if k.endswith(".cohort"))
    expected = [
        (r["cohort_definition_id"], r["subject_id"], r["cohort_start_date"], r["cohort_end_date"])
        for r in expected_doc[cohort_key]
    ]
    assert sorted(got) == sorted(expected)
    for key, rows in expected_doc.items():
        if key.endswith(".cohort_inclusion_result"):
            for mode, report in ((0, results[1].by_event), (1, results[1].by_person)):
                want = {
                    r["inclusion_rule_mask"]: r["person_count"]
                    for r in rows
                    if r["mode_id"] == mode
                }
                assert dict(report.masks) == want
        if key.endswith(".cohort_censor_stats"):
            assert results[1].censored_persons == rows[0]["lost_count"]


def test_invalid_occurrence_type_is_refused(fixtures_dir: Path) -> None:
    # The Java test sets occurrence type -99 and expects the builder to fail.
    doc = json.loads(
        (
            _root(fixtures_dir) / "cohortgeneration/correlatedCriteria/visitExpression.json"
        ).read_text()
    )
    _edit(doc, "AdditionalCriteria.CriteriaList.0.Occurrence.Type", -99)
    with pytest.raises(
        CohortDefinitionError, match=r"AdditionalCriteria\.CriteriaList\[0\]\.Occurrence"
    ):
        from_circe(doc)


def test_continuous_exposure_exit_without_drug_concept_set_is_refused(fixtures_dir: Path) -> None:
    doc = json.loads(
        (
            _root(fixtures_dir) / "cohortgeneration/exits/continuousExposureExpression.json"
        ).read_text()
    )
    _edit(doc, "EndStrategy.CustomEra.DrugCodesetId", None)
    with pytest.raises(CohortDefinitionError, match=r"EndStrategy\.CustomEra\.DrugCodesetId"):
        from_circe(doc)
