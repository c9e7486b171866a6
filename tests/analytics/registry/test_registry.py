"""The chronic-condition registry on a real lake of the synthetic region.

Flags are checked three ways: against independent SQL over the CDM (a criterion's
definition written by hand), against the generator's ground truth (sensitivity and PPV
floors, not the generator's exact numbers, which are being calibrated), and by
properties any rule change must keep (a stricter rule never flags more).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pyarrow as pa
import pytest

from bmb.analytics.population import PopulationSpec
from bmb.analytics.registry import RegistryResult, build_registry
from bmb.analytics.registry.prevalence import prevalence, standardized_prevalence
from bmb.analytics.registry.validate import validate_registry
from bmb.domain.chronic import RuleSet, Source, default_rules
from bmb.engines.lake import LakeEngine, open_lake
from tests.region_lake import RegionLake

YEARS = (2023, 2024, 2025)


@pytest.fixture(scope="module")
def engine(region_lake: RegionLake) -> Iterator[LakeEngine]:
    with open_lake(region_lake.lake) as e:
        yield e


@pytest.fixture(scope="module")
def registry(engine: LakeEngine) -> RegistryResult:
    return build_registry(engine, PopulationSpec.years(YEARS))


def _count(engine: LakeEngine, sql: str) -> int:
    return int(engine.query(sql).column(0)[0].as_py())


def test_registry_rows_are_people_in_the_population_base(
    engine: LakeEngine, registry: RegistryResult
) -> None:
    orphans = _count(
        engine,
        f"SELECT count(*) FROM {registry.table} r ANTI JOIN {registry.population} p "
        "ON p.person_id = r.person_id AND p.year = r.year",
    )
    assert orphans == 0
    dup = _count(
        engine,
        f"SELECT count(*) - count(DISTINCT (person_id, year, condition)) FROM {registry.table}",
    )
    assert dup == 0
    assert _count(engine, f"SELECT count(DISTINCT condition) FROM {registry.table}") >= 15


def test_two_a10_dispensings_in_the_year_flag_diabetes(
    engine: LakeEngine, registry: RegistryResult
) -> None:
    # Hand-written: AIC packs whose ATC starts with A10, on two distinct days of 2024.
    by_hand = (
        engine.query(
            f"""
        SELECT DISTINCT de.person_id FROM drug_exposure de
        JOIN concept c ON c.concept_id = de.drug_concept_id
        JOIN concept_relationship cr ON cr.concept_id_1 = c.concept_id
        JOIN concept atc ON atc.concept_id = cr.concept_id_2 AND atc.vocabulary_id = 'ATC'
        WHERE atc.concept_code LIKE 'A10%' AND year(de.drug_exposure_start_date) = 2024
          AND de.person_id IN (SELECT person_id FROM {registry.population} WHERE year = 2024)
        GROUP BY de.person_id HAVING count(DISTINCT de.drug_exposure_start_date) >= 2
        """
        )
        .column(0)
        .to_pylist()
    )
    assert len(by_hand) > 20
    flagged = set(
        engine.query(
            f"SELECT person_id FROM {registry.table} WHERE year = 2024 "
            "AND condition = 'diabetes' AND via_pharmacy"
        )
        .column(0)
        .to_pylist()
    )
    assert flagged == set(by_hand)


def test_exemption_flags_need_an_exemption_in_force(
    engine: LakeEngine, registry: RegistryResult
) -> None:
    missing = _count(
        engine,
        f"""
        SELECT count(*) FROM {registry.table} r WHERE r.via_exemption AND r.condition = 'diabetes'
        AND NOT EXISTS (
            SELECT 1 FROM observation o, {registry.population} p
            WHERE o.person_id = r.person_id AND p.person_id = r.person_id AND p.year = r.year
              AND o.observation_source_value LIKE '013%' AND o.observation_date <= p.ref_date
              AND (o.qualifier_source_value = 'until open'
                   OR CAST(substr(o.qualifier_source_value, 7) AS DATE) >= p.ref_date))
        """,
    )
    assert missing == 0


def _flags(engine: LakeEngine, rules: RuleSet, table: str) -> set[tuple[int, int, str]]:
    r = build_registry(engine, PopulationSpec.years(YEARS), rules, prefix=table)
    rows = engine.query(f"SELECT person_id, year, condition FROM {r.table}").to_pylist()
    return {(x["person_id"], x["year"], x["condition"]) for x in rows}


def test_stricter_rules_never_flag_more(engine: LakeEngine, registry: RegistryResult) -> None:
    base = default_rules()
    stricter = replace(
        base,
        conditions=tuple(
            replace(
                c,
                criteria=tuple(
                    replace(k, min_count=k.min_count + 2)
                    if k.source is Source.PHARMACY
                    else replace(k, lookback_days=365)
                    if k.source is Source.HOSPITAL
                    else k
                    for k in c.criteria
                ),
            )
            for c in base.conditions
        ),
    )
    # 'unless' makes flags non-monotone in general (a stricter rule for heart failure
    # can let hypertension through); compare the conditions no 'unless' points at or from.
    touched = {
        "hypertension",
        "heart_failure",
        "ihd",
        "atrial_fibrillation",
        "copd",
        "asthma",
        "ckd",
    }
    loose = {f for f in _flags(engine, base, "t_loose") if f[2] not in touched}
    strict = {f for f in _flags(engine, stricter, "t_strict") if f[2] not in touched}
    assert strict <= loose
    assert len(strict) < len(loose)


def test_registry_finds_the_truths_conditions(
    engine: LakeEngine, registry: RegistryResult, region_lake: RegionLake
) -> None:
    from bmb.cli.truth import load_truth

    truth = load_truth(region_lake.truth, region_lake.lake)
    rows = validate_registry(engine, registry, truth.persons).to_pylist()
    last = [r for r in rows if r["year"] == 2025 and r["true_cases"] >= 30]
    assert len(last) >= 10
    for r in last:
        assert r["tp"] + r["fp"] + r["fn"] + r["tn"] == r["population"]
        assert r["sensitivity"] >= 0.5, r["condition"]
        assert r["ppv"] >= 0.7, r["condition"]
        assert r["sensitivity_lower"] <= r["sensitivity"] <= r["sensitivity_upper"]
    diabetes = next(r for r in last if r["condition"] == "diabetes")
    assert diabetes["sensitivity"] >= 0.9


def test_prevalence_tables_add_up(engine: LakeEngine, registry: RegistryResult) -> None:
    prev = prevalence(engine, registry).to_pylist()
    flags = engine.query(
        f"SELECT year, condition, count(*) AS n FROM {registry.table} GROUP BY ALL"
    ).to_pylist()
    counts = {(r["year"], r["condition"]): r["n"] for r in flags}
    overall = [r for r in prev if r["unit_code"] == r["age_band"] == r["sex"] == "all"]
    assert len(overall) == len(YEARS) * len(registry.rules.conditions)
    for r in overall:
        assert r["cases"] == counts.get((r["year"], r["condition"]), 0)
        assert r["lower"] <= r["prevalence"] <= r["upper"]
        parts = [
            x
            for x in prev
            if x["year"] == r["year"]
            and x["condition"] == r["condition"]
            and x["unit_code"] != "all"
            and x["age_band"] == "all"
            and x["sex"] == "all"
        ]
        assert sum(x["cases"] for x in parts) == r["cases"]
        assert sum(x["population"] for x in parts) == r["population"]
    std = standardized_prevalence(engine, registry)
    assert isinstance(std, pa.Table)
    assert set(std.column("unit_code").to_pylist()) <= {
        x["unit_code"] for x in prev if x["unit_code"] != "all"
    }
