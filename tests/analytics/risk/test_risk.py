"""Risk models on a real lake: temporal validation, truth, storage, scoring, reasons."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pytest

from bmb.analytics.risk import Outcome, TrainingRun, train_risk_model
from bmb.analytics.risk.score import score_person, score_population
from bmb.analytics.risk.store import load_model, save_model
from bmb.analytics.risk.train import true_risk_auc
from bmb.cli.truth import load_truth
from bmb.engines.lake import LakeEngine, open_lake
from tests.region_lake import RegionLake


@pytest.fixture(scope="module")
def engine(region_lake: RegionLake) -> Iterator[LakeEngine]:
    with open_lake(region_lake.lake) as e:
        yield e


@pytest.fixture(scope="module")
def admission(engine: LakeEngine) -> TrainingRun:
    return train_risk_model(engine, Outcome.ADMISSION, 2023)


def test_temporal_validation_judges_a_later_year(admission: TrainingRun) -> None:
    m = admission.model
    assert (m.train_year, m.validation_year) == (2023, 2024)
    assert admission.validation.anchor_date == date(2024, 12, 31)
    lgbm, logit = m.validation["lightgbm"], m.validation["logistic"]
    assert lgbm.n == logit.n == admission.validation.n
    assert lgbm.events >= 50
    # Better than chance, and not worse than the baseline beyond its uncertainty.
    assert lgbm.auc.lower > 0.6
    assert lgbm.auc.value >= logit.auc.lower
    assert 0.5 < lgbm.calibration.slope < 1.6
    assert abs(lgbm.calibration.intercept) < 0.5
    assert lgbm.scaled_brier > 0  # better than predicting the event rate for everyone
    assert {g["group"] for g in m.subgroups} >= {"female", "male", "age 80+"}


def test_model_does_not_beat_the_generators_true_risk(
    admission: TrainingRun, region_lake: RegionLake
) -> None:
    truth = load_truth(region_lake.truth, region_lake.lake)
    years = truth.person_years.filter(pc.equal(truth.person_years["year"], 2025))
    ids = np.asarray(years["person_id"].to_numpy(), dtype=np.int64)
    risk = 1 - np.exp(-np.asarray(years["expected_admissions"].to_numpy()))
    true_auc, n = true_risk_auc(admission, ids, risk)
    assert n > 0.95 * admission.validation.n
    assert admission.model.validation["lightgbm"].auc.value <= true_auc.upper


def test_saved_model_predicts_the_same_and_holds_provenance(
    admission: TrainingRun, tmp_path: Path
) -> None:
    d = save_model(admission.model, tmp_path / "m")
    assert sorted(p.name for p in d.iterdir()) == [
        "card.html",
        "card.md",
        "lightgbm.txt",
        "model.json",
    ]
    loaded = load_model(d)
    x = admission.validation.x
    assert np.allclose(loaded.boosted.predict(x), admission.predictions["lightgbm"])
    assert np.allclose(loaded.logistic.predict(x), admission.predictions["logistic"])
    assert loaded.provenance == admission.model.provenance
    assert loaded.provenance.snapshot_id
    assert loaded.features == admission.model.features
    card = (d / "card.md").read_text()
    assert "Intended use" in card
    assert "Not intended for" in card
    assert "<svg" in (d / "card.html").read_text()


def test_one_person_scores_as_in_the_population_with_reasons_that_add_up(
    engine: LakeEngine, admission: TrainingRun
) -> None:
    m = admission.model
    on = date(2025, 6, 30)
    everyone = score_population(engine, m, on)
    assert everyone.num_rows > 3000
    top = everyone.sort_by([("risk", "descending")]).slice(0, 3).to_pylist()
    for row in top:
        one = score_person(engine, m, row["person_id"], on, top=len(m.features.columns))
        assert one.risk == pytest.approx(row["risk"], rel=1e-9)
        assert one.risk_class == row["risk_class"]
        logit = one.base_log_odds + sum(r.contribution for r in one.reasons)
        assert 1 / (1 + np.exp(-logit)) == pytest.approx(one.risk, rel=1e-6)
        assert one.reasons[0].contribution != 0
    classes = set(everyone.column("risk_class").to_pylist())
    assert classes <= {"low", "moderate", "high", "very high"}
    assert engine.query("SELECT count(*) FROM drug_exposure").column(0)[0].as_py() > 10_000


def test_a_non_resident_cannot_be_scored(engine: LakeEngine, admission: TrainingRun) -> None:
    from bmb.domain.errors import UsageError

    with pytest.raises(UsageError, match="not a resident"):
        score_person(engine, admission.model, 12345, date(2025, 6, 30))


def test_outcome_window_beyond_the_data_is_refused(engine: LakeEngine) -> None:
    from bmb.domain.errors import UsageError

    with pytest.raises(UsageError, match="ends after the lake's data"):
        train_risk_model(engine, Outcome.DEATH, 2024)


def test_scoring_with_the_pipelines_tables_gives_the_same_risks(
    engine: LakeEngine, admission: TrainingRun
) -> None:
    from bmb.analytics.comorbidity import build_comorbidity
    from bmb.analytics.population import PopulationSpec
    from bmb.analytics.risk.features import Reuse
    from bmb.analytics.stratification import build_stratification

    spec = PopulationSpec.years([2025])
    strat = build_stratification(engine, spec, table="t_reuse_strat")
    cmb = build_comorbidity(engine, spec, population=strat.registry.population, table="t_reuse_cmb")
    reuse = Reuse(strat.registry.population, strat.registry.table, cmb.table, strat.utilization)
    on = date(2025, 12, 31)
    fresh = score_population(engine, admission.model, on, prefix="t_fresh")
    reused = score_population(engine, admission.model, on, prefix="t_reused", reuse=reuse)
    assert fresh.column("person_id").to_pylist() == reused.column("person_id").to_pylist()
    assert np.allclose(fresh.column("risk").to_numpy(), reused.column("risk").to_numpy())
