"""Charlson and Elixhauser per person on a real lake, against comorbidipy's scores."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bmb.analytics.comorbidity import ComorbiditySpec, build_comorbidity
from bmb.analytics.population import PopulationSpec
from bmb.engines.lake import LakeEngine, open_lake
from tests.domain.test_comorbidity import _comorbidipy
from tests.region_lake import RegionLake


@pytest.fixture(scope="module")
def engine(region_lake: RegionLake) -> Iterator[LakeEngine]:
    with open_lake(region_lake.lake) as e:
        yield e


def test_scores_equal_comorbidipy_on_each_persons_hospital_diagnoses(
    engine: LakeEngine,
) -> None:
    import pandas as pd

    reference = _comorbidipy()
    spec = PopulationSpec.years([2024])
    result = build_comorbidity(engine, spec, ComorbiditySpec(lookback_days=730))
    ours = {r["person_id"]: r for r in engine.query(f"SELECT * FROM {result.table}").to_pylist()}
    # Independent input: every inpatient diagnosis in the two years, dots removed.
    dx = engine.query(
        f"""
        SELECT co.person_id AS id, replace(co.condition_source_value, '.', '') AS code, p.age
        FROM condition_occurrence co
        JOIN visit_occurrence v USING (visit_occurrence_id)
        JOIN {result.table} p ON p.person_id = co.person_id
        WHERE v.visit_concept_id = 9201
          AND co.condition_start_date > DATE '2024-12-31' - 730
          AND co.condition_start_date <= DATE '2024-12-31'
        """
    ).to_pandas()
    assert dx["id"].nunique() > 200
    checks = 0
    for weighting, column in (("charlson", "cci"), ("quan", "cci_quan2011")):
        out = reference.comorbidity(
            dx,
            id="id",
            code="code",
            age="age",
            score="charlson",
            icd="icd9",
            variant="quan",
            weighting=weighting,
        )
        for row in out.itertuples():
            mine = ours[row.id]
            expected = row.comorbidity_score
            if weighting == "quan" and mine["cc_aids"]:
                expected += 2  # comorbidipy weighs AIDS 2, Quan 2011 says 4
            assert mine[column] == expected, (row.id, column)
            checks += 1
    elix = reference.comorbidity(
        dx,
        id="id",
        code="code",
        age=None,
        score="elixhauser",
        icd="icd9",
        variant="quan",
        weighting="vw",
    )
    for row in elix.itertuples():
        # comorbidipy floors every score at 0; van Walraven's runs from -19 to 89.
        assert max(ours[row.id]["elix_vw"], 0) == row.comorbidity_score, row.id
        checks += 1
    assert checks > 600
    no_dx = [p for p, r in ours.items() if p not in set(dx["id"])]
    assert all(ours[p]["cci"] == 0 and ours[p]["elix_count"] == 0 for p in no_dx)
    assert isinstance(pd.DataFrame, type)


def test_age_points_follow_charlson(engine: LakeEngine) -> None:
    result = build_comorbidity(engine, PopulationSpec.years([2025]), table="t_cci_age")
    rows = engine.query(
        f"SELECT age, cci, cci_age_points, cci_age_adjusted FROM {result.table}"
    ).to_pylist()
    for r in rows:
        assert r["cci_age_points"] == max(0, min(4, (r["age"] - 40) // 10))
        assert r["cci_age_adjusted"] == r["cci"] + r["cci_age_points"]


def test_a_shorter_window_never_scores_higher(engine: LakeEngine) -> None:
    spec = PopulationSpec.years([2025])
    long = build_comorbidity(engine, spec, ComorbiditySpec(lookback_days=1000), table="t_long")
    short = build_comorbidity(engine, spec, ComorbiditySpec(lookback_days=90), table="t_short")
    worse = (
        engine.query(
            f"SELECT count(*) FROM {long.table} l JOIN {short.table} s USING (person_id) "
            "WHERE s.elix_count > l.elix_count OR s.cc_chf AND NOT l.cc_chf"
        )
        .column(0)[0]
        .as_py()
    )
    assert worse == 0
