"""Person id collisions are found among a batch's new keys and against the known ones."""

from __future__ import annotations

import duckdb
import pytest

from bmb.pipeline.finalize import WORK_TABLES, new_person_keys


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    c.execute(f"CREATE TEMP TABLE _person_keys ({WORK_TABLES['_person_keys']})")
    c.execute("CREATE TEMP TABLE _known_keys (person_id BIGINT, pseudonym VARCHAR)")
    c.execute("INSERT INTO _known_keys VALUES (1, 'aa'), (2, 'bb')")
    return c


def test_known_and_new_person_keys_without_clash(con: duckdb.DuckDBPyConnection) -> None:
    # person 1 seen again (same pseudonym, twice), person 3 new (twice)
    con.execute("INSERT INTO _person_keys VALUES (1, 'CF', 'aa'), (1, 'CF', 'aa'), (3, 'CF', 'cc')")
    con.execute("INSERT INTO _person_keys VALUES (3, 'CF', 'cc')")
    assert new_person_keys(con) == 0
    assert con.execute("SELECT * FROM _new_person_keys").fetchall() == [(3, "CF", "cc")]


def test_a_new_identifier_on_a_known_id_is_a_clash(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("INSERT INTO _person_keys VALUES (2, 'STP', 'zz'), (3, 'CF', 'cc')")
    assert new_person_keys(con) == 1


def test_two_new_identifiers_on_one_id_are_a_clash(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "INSERT INTO _person_keys VALUES (4, 'CF', 'dd'), (4, 'ENI', 'ee'), (5, 'CF', 'ff')"
    )
    assert new_person_keys(con) == 1


def test_the_best_proposal_is_the_same_whatever_the_order() -> None:
    """Lowest priority wins, then the latest; a tie goes to the smallest value."""
    from bmb.pipeline.finalize import best_proposals

    rows = [
        (1, "2", "1950-01-01", None, None, 7, "2024-01-01"),
        (1, "1", "1950-01-01", None, None, 7, "2024-01-01"),  # tie with the row above
        (2, "2", "1960-01-01", "010025", None, 7, "2024-01-01"),
        (2, "1", "1961-01-01", None, None, 1, "2023-01-01"),  # registry beats pharmacy
        (3, "2", None, "010001", None, 5, "2023-01-01"),
        (3, "1", None, "010002", None, 5, "2024-06-01"),  # later wins at equal priority
    ]
    for order in (rows, rows[::-1]):
        c = duckdb.connect()
        c.execute(f"CREATE TEMP TABLE cand ({WORK_TABLES['_person_candidates']})")
        c.executemany("INSERT INTO cand VALUES (?, ?, ?, ?, ?, ?, ?)", order)
        got = c.execute(
            f"SELECT person_id, sex, CAST(birth_date AS VARCHAR), comune, priority "
            f"FROM {best_proposals('cand')} ORDER BY 1"
        ).fetchall()
        assert got == [
            (1, "1", "1950-01-01", None, 7),
            (2, "1", "1961-01-01", "010025", 1),
            (3, "1", None, "010002", 5),
        ]
