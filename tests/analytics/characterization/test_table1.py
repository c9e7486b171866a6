"""Table 1 on a hand-built CDM: every mean, SD and SMD computed by hand.

Cohort A: person 1 (male, born 1960) and 2 (female, 1970), index 2020-01-01.
Cohort B: person 3 (female, 1980) and 4 (male, 1990), index 2020-06-01.
Person 1 has type 2 diabetes (ICD-10-CM E11.9, mapped to SNOMED) in 2019 and a
myocardial infarction (I21.9) in 2010: Charlson 2. Person 2 has a lung cancer (C34.9)
and a secondary tumour (C78.0) recorded only as ICD-10 source codes: metastatic
supersedes any malignancy, Charlson 6. Person 4 has E11.9 in 2020: Charlson 1.
"""

from __future__ import annotations

import datetime as dt
import math

import pyarrow as pa
import pytest

from bmb.analytics.characterization import characterize, standardized_difference
from bmb.analytics.rates import CohortRef
from bmb.engines.capabilities import load_arrow
from tests.engine_fixtures import CdmWorld

D = dt.date
DM2, MI = 201826, 4329847
E119, I219, C780, C349 = 45576876, 35207684, 45551234, 45559876


@pytest.fixture
def cdm(world: CdmWorld) -> CdmWorld:
    concepts = [
        (8507, "MALE", "Gender", "Gender", "M"),
        (8532, "FEMALE", "Gender", "Gender", "F"),
        (DM2, "Type 2 diabetes mellitus", "Condition", "SNOMED", "44054006"),
        (MI, "Acute myocardial infarction", "Condition", "SNOMED", "57054005"),
        (E119, "Type 2 diabetes mellitus without complications", "Condition", "ICD10CM", "E11.9"),
        (I219, "Acute myocardial infarction, unspecified", "Condition", "ICD10CM", "I21.9"),
        (C780, "Secondary malignant neoplasm of lung", "Condition", "ICD10", "C78.0"),
        (C349, "Malignant neoplasm of bronchus or lung", "Condition", "ICD10", "C34.9"),
        (9201, "Inpatient Visit", "Visit", "Visit", "IP"),
        (9202, "Outpatient Visit", "Visit", "Visit", "OP"),
    ]
    conditions = [
        (1, 1, DM2, D(2019, 6, 1), E119),
        (2, 1, MI, D(2010, 1, 1), I219),
        (3, 2, 0, D(2019, 12, 1), C780),
        (4, 2, 0, D(2019, 12, 1), C349),
        (5, 4, DM2, D(2020, 3, 1), E119),
    ]
    world.load(
        {
            "concept": pa.table(
                {
                    "concept_id": [c[0] for c in concepts],
                    "concept_name": [c[1] for c in concepts],
                    "domain_id": [c[2] for c in concepts],
                    "vocabulary_id": [c[3] for c in concepts],
                    "concept_class_id": ["x"] * len(concepts),
                    "concept_code": [c[4] for c in concepts],
                    "valid_start_date": [D(1970, 1, 1)] * len(concepts),
                    "valid_end_date": [D(2099, 12, 31)] * len(concepts),
                }
            ),
            "concept_relationship": pa.table(
                {
                    "concept_id_1": [E119, I219],
                    "concept_id_2": [DM2, MI],
                    "relationship_id": ["Maps to", "Maps to"],
                    "valid_start_date": [D(1970, 1, 1)] * 2,
                    "valid_end_date": [D(2099, 12, 31)] * 2,
                }
            ),
            "person": pa.table(
                {
                    "person_id": [1, 2, 3, 4],
                    "gender_concept_id": [8507, 8532, 8532, 8507],
                    "year_of_birth": [1960, 1970, 1980, 1990],
                    "race_concept_id": [0] * 4,
                    "ethnicity_concept_id": [0] * 4,
                }
            ),
            "observation_period": pa.table(
                {
                    "observation_period_id": [1, 2, 3, 4],
                    "person_id": [1, 2, 3, 4],
                    "observation_period_start_date": [D(2000, 1, 1)] * 4,
                    "observation_period_end_date": [D(2022, 12, 31)] * 4,
                    "period_type_concept_id": [0] * 4,
                }
            ),
            "condition_occurrence": pa.table(
                {
                    "condition_occurrence_id": [c[0] for c in conditions],
                    "person_id": [c[1] for c in conditions],
                    "condition_concept_id": [c[2] for c in conditions],
                    "condition_start_date": [c[3] for c in conditions],
                    "condition_type_concept_id": [0] * len(conditions),
                    "condition_source_concept_id": [c[4] for c in conditions],
                }
            ),
            "visit_occurrence": pa.table(
                {
                    "visit_occurrence_id": [1, 2, 3],
                    "person_id": [1, 1, 3],
                    "visit_concept_id": [9201, 9201, 9202],
                    "visit_start_date": [D(2019, 3, 1), D(2019, 9, 1), D(2020, 1, 1)],
                    "visit_end_date": [D(2019, 3, 2), D(2019, 9, 2), D(2020, 1, 1)],
                    "visit_type_concept_id": [0] * 3,
                }
            ),
        }
    )
    for name, rows in (
        ("t_a", [(1, D(2020, 1, 1)), (2, D(2020, 1, 1))]),
        ("t_b", [(3, D(2020, 6, 1)), (4, D(2020, 6, 1))]),
    ):
        load_arrow(
            world.engine,
            name,
            pa.table(
                {
                    "cohort_definition_id": pa.array([1, 1], pa.int64()),
                    "subject_id": pa.array([r[0] for r in rows], pa.int64()),
                    "cohort_start_date": pa.array([r[1] for r in rows], pa.date32()),
                    "cohort_end_date": pa.array([r[1] for r in rows], pa.date32()),
                }
            ),
        )
    return world


def _table(cdm: CdmWorld):  # type: ignore[no-untyped-def]
    return characterize(cdm.engine, [CohortRef("t_a", name="A"), CohortRef("t_b", name="B")])


def test_cohort_sizes_and_age(cdm: CdmWorld) -> None:
    t1 = _table(cdm)
    age = t1.row("demographics", 1)

    assert [(c.name, c.rows, c.persons) for c in t1.cohorts] == [("A", 2, 2), ("B", 2, 2)]
    assert [v.mean for v in age.values] == [55.0, 35.0]
    assert age.values[0].sd == pytest.approx(math.sqrt(50))
    assert age.smd[1] == pytest.approx((35 - 55) / math.sqrt((50 + 50) / 2))


def test_sex_is_balanced(cdm: CdmWorld) -> None:
    male = _table(cdm).row("demographics", 8507)

    assert male.name == "sex: male"
    assert [v.mean for v in male.values] == [0.5, 0.5]
    assert male.smd[1] == pytest.approx(0.0)


def test_charlson_index_uses_icd_codes_and_hierarchy(cdm: CdmWorld) -> None:
    t1 = _table(cdm)
    index = t1.row("comorbidity", 1000)

    assert [v.mean for v in index.values] == [pytest.approx(4.0), pytest.approx(0.5)]
    assert index.values[0].sd == pytest.approx(math.sqrt(8))
    assert index.smd[1] == pytest.approx((0.5 - 4.0) / math.sqrt((0.5 + 8) / 2))
    malignancy = t1.row("comorbidity", 1014)  # present, though superseded in the score
    assert malignancy.values[0].n == 1


def test_conditions_in_the_year_before_index(cdm: CdmWorld) -> None:
    t1 = _table(cdm)
    diabetes = t1.row("conditions -365d to 0d", DM2)

    assert diabetes.name == "condition: Type 2 diabetes mellitus"
    assert [v.n for v in diabetes.values] == [1, 1]
    assert not any(r.covariate_id == MI for r in t1.rows if r.analysis.startswith("conditions"))


def test_visit_counts_in_the_year_before(cdm: CdmWorld) -> None:
    t1 = _table(cdm)

    assert [v.mean for v in t1.row("visits -365d to -1d", 2000).values] == [1.0, 0.5]
    inpatient = t1.row("visits -365d to -1d", 9201)
    assert [v.mean for v in inpatient.values] == [1.0, 0.0]


def test_table_records_provenance_and_exports(cdm: CdmWorld) -> None:
    t1 = _table(cdm)
    table = t1.to_arrow()

    assert table.num_rows == len(t1.rows)
    assert {"c0_mean", "c1_mean", "c1_smd"} <= set(table.column_names)
    assert t1.provenance.engine


def test_standardized_difference_formula() -> None:
    assert standardized_difference(0.5, 0.5, 0.3, math.sqrt(0.21)) == pytest.approx(
        0.2 / math.sqrt((0.25 + 0.21) / 2)
    )
    assert standardized_difference(0.0, 0.0, 0.0, 0.0) is None
