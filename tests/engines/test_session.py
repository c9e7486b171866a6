"""Permit-scoped sessions: scope, opt-outs and project pseudonyms inside the engine."""

from __future__ import annotations

from datetime import date

import pytest

from bmb.domain.governance.permits import DataForm, Permit, Population, TableScope
from bmb.domain.governance.purposes import Purpose
from bmb.domain.project_keys import project_key, project_pseudonym
from bmb.engines.lake import open_lake
from bmb.engines.session import FixedOptOuts, PermitSession, open_session
from bmb.engines.session_sql import SessionSqlError
from bmb.lake.store import Lake
from tests.governed_lake import RegionLake


def make_permit(
    project: str = "P1",
    tables: tuple[TableScope, ...] = (
        TableScope("person"),
        TableScope("condition_occurrence"),
        TableScope("visit_occurrence"),
    ),
    population: Population | None = None,
    form: DataForm = DataForm.PSEUDONYMIZED,
) -> Permit:
    return Permit(
        permit_id=1,
        project_id=project,
        purpose=Purpose.SCIENTIFIC_RESEARCH,
        form=form,
        members=frozenset({"rita"}),
        tables=tables,
        starts=date(2025, 1, 1),
        expires=date(2099, 1, 1),
        population=population,
    )


def session_for(
    lake: RegionLake, permit: Permit, optouts: frozenset[int] = frozenset()
) -> PermitSession:
    key = project_key(lake.master_key(), permit.project_id)
    return open_session(lake.root, permit=permit, project_key=key, optouts=FixedOptOuts(optouts))


def raw_ids(lake: RegionLake, sql: str) -> list[int]:
    with open_lake(lake.root) as e:
        return [int(v) for v in e.query(sql).column(0).to_pylist()]


def test_session_shows_only_the_permits_tables_and_the_vocabularies(
    region_lake: RegionLake,
) -> None:
    with session_for(region_lake, make_permit()) as s:
        names = s.table_names()
        assert {"person", "condition_occurrence", "visit_occurrence", "concept"} <= set(names)
        assert "drug_exposure" not in names
        with pytest.raises(SessionSqlError, match="not in this session"):
            s.query("SELECT count(*) FROM drug_exposure")


def test_session_shows_only_the_permits_columns(region_lake: RegionLake) -> None:
    permit = make_permit(tables=(TableScope("person", frozenset({"person_id", "year_of_birth"})),))
    with session_for(region_lake, permit) as s:
        assert s.query("SELECT * FROM person LIMIT 1").column_names == [
            "person_id",
            "year_of_birth",
        ]
        with pytest.raises(Exception, match="location_id"):
            s.query("SELECT location_id FROM person")


def test_session_rows_match_the_lake_for_persons_in_scope(region_lake: RegionLake) -> None:
    n_lake = raw_ids(region_lake, "SELECT count(*) FROM condition_occurrence")[0]
    with session_for(region_lake, make_permit()) as s:
        n = s.query("SELECT count(*) FROM condition_occurrence").column(0)[0].as_py()
        joined = (
            s.query("SELECT count(*) FROM condition_occurrence c JOIN person p USING (person_id)")
            .column(0)[0]
            .as_py()
        )
    assert n == n_lake
    assert joined == n_lake  # re-keyed ids still join


def test_person_ids_are_the_projects_pseudonyms(region_lake: RegionLake) -> None:
    key = project_key(region_lake.master_key(), "P1")
    lake_ids = raw_ids(region_lake, "SELECT person_id FROM person")
    with session_for(region_lake, make_permit()) as s:
        seen = set(s.query("SELECT person_id FROM person").column(0).to_pylist())
    assert seen == {project_pseudonym(key, pid) for pid in lake_ids}
    assert not seen & set(lake_ids)


def test_two_projects_extracts_do_not_link(region_lake: RegionLake) -> None:
    sql = "SELECT person_id, visit_occurrence_id FROM visit_occurrence"
    with session_for(region_lake, make_permit("P1")) as a:
        first = a.query(sql)
    with session_for(region_lake, make_permit("P2")) as b:
        second = b.query(sql)
    with session_for(region_lake, make_permit("P1")) as again:
        same = again.query(sql)
    for column in ("person_id", "visit_occurrence_id"):
        ids_a = set(first.column(column).to_pylist())
        ids_b = set(second.column(column).to_pylist())
        assert len(ids_a) > 100
        assert not ids_a & ids_b, f"{column} links two projects"
        assert ids_a == set(same.column(column).to_pylist()), "unstable within a project"


def test_opted_out_persons_are_absent_from_every_table(region_lake: RegionLake) -> None:
    out = raw_ids(
        region_lake,
        "SELECT DISTINCT person_id FROM condition_occurrence ORDER BY person_id LIMIT 25",
    )
    key = project_key(region_lake.master_key(), "P1")
    hidden = {project_pseudonym(key, pid) for pid in out}
    with session_for(region_lake, make_permit(), frozenset(out)) as s:
        for table in ("person", "condition_occurrence", "visit_occurrence"):
            ids = set(s.query(f"SELECT person_id FROM {table}").column(0).to_pylist())
            assert not ids & hidden, table
        total = s.query("SELECT count(*) FROM person").column(0)[0].as_py()
    assert total == raw_ids(region_lake, "SELECT count(*) FROM person")[0] - len(out)


def test_an_opt_out_counts_from_the_next_query(region_lake: RegionLake) -> None:
    optouts = FixedOptOuts()
    key = project_key(region_lake.master_key(), "P1")
    s = open_session(region_lake.root, permit=make_permit(), project_key=key, optouts=optouts)
    with s:
        before = s.query("SELECT count(*) FROM person").column(0)[0].as_py()
        s.execute("CREATE TEMP TABLE mine AS SELECT person_id FROM person")
        optouts.ids = frozenset(raw_ids(region_lake, "SELECT person_id FROM person LIMIT 3"))
        with pytest.raises(Exception, match="opt-out registry changed"):
            s.query("SELECT count(*) FROM mine")
        after = s.query("SELECT count(*) FROM person").column(0)[0].as_py()
        assert "mine" not in s.table_names()
    assert after == before - 3


def test_population_restricts_persons_to_a_derived_cohort(region_lake: RegionLake) -> None:
    import pyarrow as pa

    ids = raw_ids(region_lake, "SELECT person_id FROM person ORDER BY person_id LIMIT 40")
    lake = Lake.open(region_lake.root)
    lake.write_derived("test_cohort", pa.table({"person_id": pa.array(ids, pa.int64())}))
    permit = make_permit(population=Population(derived_table="test_cohort"))
    with session_for(region_lake, permit) as s:
        assert s.query("SELECT count(*) FROM person").column(0)[0].as_py() == 40
        n_cond = s.query("SELECT count(DISTINCT person_id) FROM condition_occurrence")
        assert n_cond.column(0)[0].as_py() <= 40


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_parquet('/etc/passwd')",
        "SELECT * FROM read_csv_auto('/etc/passwd')",
        "SELECT * FROM 'somefile.parquet'",
        "SELECT * FROM information_schema.tables",
        "SELECT * FROM duckdb_views()",
        "SELECT * FROM duckdb_settings()",
        "SELECT getenv('HOME')",
        "SELECT current_setting('allowed_directories')",
        "SELECT * FROM query('SELECT 1')",
        "SELECT * FROM glob('/*')",
        "COPY (SELECT * FROM person) TO '/tmp/leak.csv'",
        "ATTACH '/tmp/other.db' AS o",
        "INSTALL httpfs",
        "SET enable_external_access = true",
        "PRAGMA database_list",
        "SELECT 1; SELECT 2",
        "CREATE TABLE kept AS SELECT * FROM person",
        "CREATE TEMP TABLE person AS SELECT 1",
        "DROP TABLE person",
        "INSERT INTO person SELECT * FROM person",
        "SELECT * FROM main.drug_exposure",
        "SELECT * FROM temp.main.person",
    ],
)
def test_sql_that_could_see_around_the_views_is_refused(region_lake: RegionLake, sql: str) -> None:
    with session_for(region_lake, make_permit()) as s, pytest.raises(SessionSqlError):
        s.query(sql)


def test_hidden_objects_cannot_be_named(region_lake: RegionLake) -> None:
    with session_for(region_lake, make_permit()) as s:
        for obj in ("scope", "k", "optout", "raw_person", "persons"):
            with pytest.raises(SessionSqlError):
                s.query(f"SELECT * FROM {s.hidden_schema}.{obj}")


def test_the_connection_itself_is_locked(region_lake: RegionLake) -> None:
    with session_for(region_lake, make_permit()) as s:
        with pytest.raises(Exception, match="locked"):
            s.con.execute("SET enable_external_access = true")
        with pytest.raises(Exception, match=r"disabled|Permission"):
            s.con.sql("SELECT * FROM read_csv('/etc/passwd')").fetchall()


def test_temporary_tables_for_analytics_work_inside_the_scope(region_lake: RegionLake) -> None:
    with session_for(region_lake, make_permit()) as s:
        s.execute(
            "CREATE TEMP TABLE older AS SELECT person_id FROM person WHERE year_of_birth < 1950"
        )
        n = s.query("SELECT count(*) FROM older").column(0)[0].as_py()
        s.execute("DROP TABLE older")
        assert "older" not in s.table_names()
    assert n == raw_ids(region_lake, "SELECT count(*) FROM person WHERE year_of_birth < 1950")[0]


def test_every_query_is_reported_to_the_hook(region_lake: RegionLake) -> None:
    seen: list[tuple[str, int, bool]] = []
    key = project_key(region_lake.master_key(), "P1")
    with open_session(
        region_lake.root,
        permit=make_permit(),
        project_key=key,
        on_query=lambda sql, rows, ok: seen.append((sql, rows, ok)),
    ) as s:
        s.query("SELECT person_id FROM person LIMIT 5")
        with pytest.raises(SessionSqlError):
            s.query("SELECT * FROM drug_exposure")
    assert seen[0][1:] == (5, True)
    assert seen[1] == ("SELECT * FROM drug_exposure", 0, False)
