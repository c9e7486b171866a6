"""The engine protocol and capabilities behave the same on DuckDB, PostgreSQL, Spark."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pyarrow as pa
import pytest

from bmb.analytics.cohort.sqltext import transpile
from bmb.engines.capabilities import drop, load_arrow, materialize, snapshot_of
from tests.engine_fixtures import ENGINES, CdmWorld, make_world


@pytest.fixture(params=ENGINES)
def world(request: pytest.FixtureRequest) -> Iterator[CdmWorld]:
    """An engine with an empty CDM, once per engine."""
    yield from make_world(request.param)


def test_query_returns_arrow_with_engine_neutral_types(world: CdmWorld) -> None:
    sql = transpile(
        "SELECT CAST(1 AS BIGINT) AS n, DATE '2020-02-29' + 1 AS d, 'x' AS s, 1.5 AS f, "
        "DATE_DIFF('day', DATE '2020-01-01', DATE '2020-03-01') AS days",
        world.engine.dialect,
    )
    row = world.engine.query(sql).to_pylist()[0]
    assert row["n"] == 1
    assert row["d"] == dt.date(2020, 3, 1)
    assert row["s"] == "x"
    assert float(row["f"]) == 1.5
    assert row["days"] == 60


def test_loaded_arrow_tables_round_trip(world: CdmWorld) -> None:
    table = pa.table(
        {
            "id": pa.array([1, 2, None], pa.int64()),
            "day": pa.array([dt.date(2020, 1, 1), None, dt.date(1999, 12, 31)], pa.date32()),
            "name": pa.array(["a", "", None], pa.string()),
        }
    )
    load_arrow(world.engine, "t_round", table)

    got = world.engine.query("SELECT id, day, name FROM t_round ORDER BY id").to_pylist()

    assert sorted(got, key=lambda r: (r["id"] is None, r["id"] or 0)) == [
        {"id": 1, "day": dt.date(2020, 1, 1), "name": "a"},
        {"id": 2, "day": None, "name": ""},
        {"id": None, "day": dt.date(1999, 12, 31), "name": None},
    ]


def test_materialize_then_drop(world: CdmWorld) -> None:
    materialize(world.engine, "t_mat", transpile("SELECT 7 AS x", world.engine.dialect))
    assert world.engine.query("SELECT x FROM t_mat").to_pylist() == [{"x": 7}]
    assert "t_mat" in world.engine.table_names()

    drop(world.engine, "t_mat")

    assert "t_mat" not in world.engine.table_names()


def test_cdm_tables_are_visible(world: CdmWorld) -> None:
    world.load({})
    names = set(world.engine.table_names())
    assert {"person", "observation_period", "concept_ancestor", "drug_exposure"} <= names


def test_snapshot_is_reported_for_provenance(world: CdmWorld) -> None:
    assert snapshot_of(world.engine) is None
    world.engine.snapshot_id = "42"
    assert snapshot_of(world.engine) == "42"


@pytest.mark.postgres
def test_postgres_connection_error_is_friendly() -> None:
    from bmb.domain.errors import BmbError
    from bmb.engines.postgres_engine import PostgresEngine

    with pytest.raises(BmbError, match="cannot connect to PostgreSQL"):
        PostgresEngine("postgresql://postgres@127.0.0.1:1/none")
