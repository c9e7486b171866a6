"""Cohorts and rates on a real lake snapshot (the synthetic region, ingested).

The lake's engine (``bmb.engines.lake``) offers no analytics capabilities of its own:
the cohort runner falls back to portable SQL, and the results name the snapshot.
"""

from __future__ import annotations

from pathlib import Path

from bmb.analytics.cohort import generate_cohort
from bmb.analytics.report import read_provenance
from bmb.cli.main import run
from bmb.domain.cohort import api as c
from bmb.engines.lake import open_lake
from tests.governed_lake import RegionLake


def _diabetes_id(engine: object) -> int:
    rows = engine.query(  # type: ignore[attr-defined]
        "SELECT concept_id FROM concept WHERE vocabulary_id = 'ICD9CM' AND concept_code = '250'"
    ).to_pylist()
    return int(rows[0]["concept_id"])


def test_diabetes_cohort_on_the_lake_matches_an_independent_count(region_lake: RegionLake) -> None:
    with open_lake(region_lake.root) as engine:
        diabetes = _diabetes_id(engine)
        definition = (
            c.Cohort("diabetes")
            .concept_set(0, "diabetes", c.concept(diabetes, descendants=True))
            .entry(c.condition_occurrence(0, first=True))
            .build()
        )

        result = generate_cohort(engine, definition)

        expected = engine.query(
            f"""
            SELECT COUNT(*) AS n FROM (
              SELECT co.person_id, MIN(co.condition_start_date) AS d FROM condition_occurrence co
              WHERE co.condition_concept_id IN (SELECT descendant_concept_id FROM concept_ancestor
                                                WHERE ancestor_concept_id = {diabetes})
              GROUP BY co.person_id) f
            JOIN observation_period op ON op.person_id = f.person_id
             AND f.d BETWEEN op.observation_period_start_date AND op.observation_period_end_date
            """
        ).to_pylist()[0]["n"]
        assert result.persons == expected > 0
        assert result.provenance.snapshot_id == engine.snapshot_label


def test_commands_run_on_the_lake_and_record_the_snapshot(
    region_lake: RegionLake, tmp_path: Path
) -> None:
    with open_lake(region_lake.root) as engine:
        diabetes = _diabetes_id(engine)
        label = engine.snapshot_label
    definition = tmp_path / "diabetes.yaml"
    definition.write_text(
        "name: diabetes\n"
        "concept_sets:\n"
        f"  - {{id: 0, name: diabetes, concepts: [{{id: {diabetes}, descendants: true}}]}}\n"
        "entry: {events: [{condition_occurrence: {concept_set: 0, first: true}}]}\n"
    )
    rows = tmp_path / "diabetes.parquet"

    assert (
        run(["cohort", "run", str(definition), "--lake", str(region_lake.root), "--out", str(rows)])
        == 0
    )
    assert read_provenance(rows).snapshot_id == label

    prev = tmp_path / "prev.csv"
    assert (
        run(
            [
                "prevalence",
                "--outcome",
                str(definition),
                "--years",
                "2024",
                "--lake",
                str(region_lake.root),
                "--out",
                str(prev),
            ]
        )
        == 0
    )
    assert read_provenance(prev).snapshot_id == label
