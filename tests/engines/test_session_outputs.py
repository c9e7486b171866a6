"""What leaves a session: tables, free SQL aggregates, extracts, model checks."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest

from bmb.domain.disclosure.policy import OutputPolicy
from bmb.domain.errors import UsageError
from bmb.domain.governance.permits import DataForm, TableScope
from bmb.engines.lake import open_lake
from bmb.engines.session_extract import extract
from bmb.engines.session_outputs import custom, model_facts, tabulate
from tests.engines.test_session import make_permit, raw_ids, session_for
from tests.governed_lake import RegionLake

SOURCE = """
SELECT p.person_id, CAST(p.gender_concept_id AS VARCHAR) AS sex,
       CAST(p.year_of_birth // 20 * 20 AS VARCHAR) AS born, c.condition_concept_id
FROM person p JOIN condition_occurrence c USING (person_id)
"""


def test_tabulate_counts_persons_and_protects_small_cells(region_lake: RegionLake) -> None:
    with session_for(region_lake, make_permit()) as s:
        out = tabulate(s, SOURCE, by=["sex", "born"])
    rows = out.table.to_pylist()
    with open_lake(region_lake.root) as e:
        truth = {
            (str(r["g"]), str(r["b"])): r["n"]
            for r in e.query(
                "SELECT p.gender_concept_id g, p.year_of_birth // 20 * 20 b, "
                "count(DISTINCT p.person_id) n FROM person p JOIN condition_occurrence c "
                "USING (person_id) GROUP BY ALL"
            ).to_pylist()
        }
    interior = {(r["sex"], r["born"]): r["n"] for r in rows if "Total" not in (r["sex"], r["born"])}
    assert set(interior) == set(truth)
    for key, released in interior.items():
        if released is None:
            continue
        assert truth[key] > 7
        assert released % 5 == 0
        assert abs(released - truth[key]) <= 2
    assert any(v is None for v in interior.values()), "the region should have small cells"
    grand = next(r["n"] for r in rows if r["sex"] == "Total" and r["born"] == "Total")
    assert grand is not None
    assert grand > 100
    persons = raw_ids(region_lake, "SELECT count(DISTINCT person_id) FROM condition_occurrence")
    assert out.sketch is not None
    assert out.sketch.size == persons[0]


def test_tabulate_sums_apply_dominance(region_lake: RegionLake) -> None:
    sql = """
    SELECT person_id, CAST(gender_concept_id AS VARCHAR) AS sex,
           CASE WHEN person_id = (SELECT min(person_id) FROM person) THEN 1000000
                ELSE 1 END AS cost
    FROM person
    """
    with session_for(region_lake, make_permit()) as s:
        out = tabulate(s, sql, by=["sex"], sums=["cost"], means=["cost"])
    status = out.report.measures["status"]
    assert out.table.column_names == ["sex", "n", "sum_cost", "mean_cost"]
    rows = {r["sex"]: r for r in out.table.to_pylist()}
    # one person dominates the total and their sex's cell: those sums are hidden
    assert rows["Total"]["sum_cost"] is None
    assert any(f.rule == "dominance" for f in out.report.findings)
    assert status  # the per-cell statuses are kept for reviewers


def test_an_opted_out_person_is_absent_from_every_output(region_lake: RegionLake) -> None:
    target = raw_ids(
        region_lake,
        "SELECT person_id FROM condition_occurrence GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
    )
    permit = make_permit()
    with session_for(region_lake, permit) as s:
        base = tabulate(s, SOURCE, by=["sex"], margins=False)
        base_extract = extract(s, "SELECT person_id, year_of_birth FROM person")
    with session_for(region_lake, permit, frozenset(target)) as s:
        table = tabulate(s, SOURCE, by=["sex"], margins=False)
        ext = extract(s, "SELECT person_id, year_of_birth FROM person")
        agg = custom(s, "SELECT count(DISTINCT person_id) AS n FROM condition_occurrence")
    assert base.sketch is not None
    assert table.sketch is not None
    assert table.sketch.size == base.sketch.size - 1
    assert base.cells is not None
    assert table.cells is not None
    assert sum(table.cells.values()) == sum(base.cells.values()) - 1
    assert base_extract.sketch is not None
    assert ext.sketch is not None
    assert ext.sketch.size <= base_extract.sketch.size - 1
    from bmb.domain.project_keys import project_key, project_pseudonym

    pseudo = project_pseudonym(project_key(region_lake.master_key(), "P1"), target[0])
    assert pseudo not in ext.table.column("person_id").to_pylist()
    assert agg.cells is not None
    total = raw_ids(region_lake, "SELECT count(DISTINCT person_id) FROM condition_occurrence")[0]
    assert next(iter(agg.cells.values())) == total - 1


def test_custom_aggregates_redact_and_round_integer_columns(region_lake: RegionLake) -> None:
    sql = """
    SELECT CAST(year_of_birth // 10 * 10 AS VARCHAR) AS decade, count(*) AS n,
           avg(month_of_birth) AS mean_month
    FROM person GROUP BY ROLLUP (1)
    """
    with session_for(region_lake, make_permit()) as s:
        out = custom(s, sql)
    rows = out.table.to_pylist()
    with open_lake(region_lake.root) as e:
        truth = {
            r["d"]: r["n"]
            for r in e.query(
                "SELECT CAST(year_of_birth // 10 * 10 AS VARCHAR) d, count(*) n FROM person "
                "GROUP BY 1"
            ).to_pylist()
        }
    for r in rows:
        if r["n"] is None:
            assert r["mean_month"] is None
            continue
        assert r["n"] % 5 == 0
        if r["decade"] is not None:
            assert truth[r["decade"]] > 7
    assert any(f.rule == "statistics" and f.severity.value == "review" for f in out.report.findings)


def test_custom_refuses_person_level_rows(region_lake: RegionLake) -> None:
    with session_for(region_lake, make_permit()) as s, pytest.raises(UsageError, match="extract"):
        custom(s, "SELECT person_id, year_of_birth FROM person")


def test_custom_statistics_without_counts_block_release(region_lake: RegionLake) -> None:
    with session_for(region_lake, make_permit()) as s:
        out = custom(s, "SELECT avg(year_of_birth) AS mean_yob FROM person")
    assert out.report.blocking
    assert out.table.column("mean_yob").to_pylist() == [None]


def test_extract_reaches_k_on_its_quasi_identifiers(region_lake: RegionLake) -> None:
    sql = "SELECT person_id, year_of_birth, gender_concept_id, location_id FROM person"
    with session_for(region_lake, make_permit()) as s:
        out = extract(s, sql)
    rows = out.table.to_pylist()
    classes = Counter((r["year_of_birth"], r["gender_concept_id"], r["location_id"]) for r in rows)
    assert min(classes.values()) >= 5
    total = raw_ids(region_lake, "SELECT count(*) FROM person")[0]
    assert len(rows) >= total * 0.95
    m = out.report.measures
    assert m["k"] >= 5
    assert m["risk"]["prosecutor_max"] <= 0.2
    assert m["risk"]["journalist_max"] is not None
    assert m["risk"]["journalist_max"] <= m["risk"]["prosecutor_max"]
    assert not out.report.blocking
    levels = m["levels"]
    assert levels["year_of_birth"] != "exact" or levels["location_id"] != "comune"


def test_extract_under_an_anonymized_permit_keeps_no_ids(region_lake: RegionLake) -> None:
    permit = make_permit(form=DataForm.ANONYMIZED)
    sql = """SELECT person_id, visit_occurrence_id, visit_start_date, visit_concept_id
             FROM visit_occurrence"""
    with session_for(region_lake, permit) as s:
        out = extract(s, sql, sensitive=["visit_concept_id"])
    assert out.table.column_names == ["visit_start_date", "visit_concept_id"]
    assert out.report.measures["quasi_identifiers"] == {"visit_start_date": "date"}
    assert out.report.measures["levels"]["visit_start_date"] in ("month", "quarter", "year", "*")


def test_extract_needs_person_id(region_lake: RegionLake) -> None:
    with session_for(region_lake, make_permit()) as s, pytest.raises(UsageError, match="person_id"):
        extract(s, "SELECT year_of_birth FROM person")


def test_dp_tables_spend_epsilon_and_add_noise(region_lake: RegionLake) -> None:
    permit = replace(
        make_permit(), policy=OutputPolicy(dp_epsilon=0.5, rounding=1), epsilon_budget=2.0
    )
    with session_for(region_lake, permit) as s:
        first = tabulate(s, SOURCE, by=["sex", "born"])
        second = tabulate(s, SOURCE, by=["sex", "born"])
        with pytest.raises(UsageError, match="counts only"):
            tabulate(s, SOURCE, by=["sex"], sums=["condition_concept_id"])
    assert first.epsilon == 0.5
    assert first.table.column("n").to_pylist() != second.table.column("n").to_pylist()
    # margins are sums of the noisy cells: consistent without extra budget
    assert first.cells is not None
    inner = sum(v for k, v in first.cells.items() if "Total" not in k)
    assert first.cells[("n", "Total", "Total")] == inner


def test_model_facts_enforce_minimum_cells(region_lake: RegionLake) -> None:
    sql = """SELECT person_id, CAST(gender_concept_id AS VARCHAR) AS sex,
                    CASE WHEN year_of_birth < 1930 THEN 1 ELSE 0 END AS very_old
             FROM person"""
    with session_for(region_lake, make_permit()) as s:
        facts, check = model_facts(s, sql, outcome="very_old", categorical=["sex"], n_parameters=3)
        _, check_big = model_facts(s, sql, outcome=None, categorical=["sex"], n_parameters=3)
    assert facts.n_persons == raw_ids(region_lake, "SELECT count(*) FROM person")[0]
    assert check_big.passed
    small = [c for c, n in facts.cells.items() if n < 10]
    assert check.passed == (not small)


def test_tabulate_rejects_unknown_columns(region_lake: RegionLake) -> None:
    permit = make_permit(tables=(TableScope("person"),))
    with (
        session_for(region_lake, permit) as s,
        pytest.raises(UsageError, match="not in the source"),
    ):
        tabulate(s, "SELECT person_id FROM person", by=["nope"])
