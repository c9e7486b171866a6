"""Engines for the spec suites: one fixture, parametrized over DuckDB, PostgreSQL, Spark.

Each test gets a :class:`CdmWorld`: an engine plus ``load(tables)``, which replaces the
CDM's contents (every CDM v5.4 table exists, empty unless given). DuckDB is in memory;
PostgreSQL gets a schema of its own in the shared ``test`` database, dropped after the
test; Spark is one local session for the whole run (its start-up costs seconds), with
tables as temporary views, and is marked ``slow``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pytest

from bmb.domain.cdm import CDM_TABLES
from bmb.engines.cdm_load import cdm_table, load_cdm

PG_DSN = os.environ.get("BMB_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")

#: The whole spec suite on Spark takes about seven minutes on two cores (every Spark
#: query costs half a second even on ten rows): ``make test`` (CI) runs it, setting
#: BMB_TEST_SPARK=all; a plain ``pytest`` runs a subset (``engine_case_params``'
#: ``spark_in_ci``) so that the inner loop stays quick.
SPARK_ALL = os.environ.get("BMB_TEST_SPARK") == "all"
_SPARK_FULL = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not SPARK_ALL, reason="whole Spark suite: ~7 min, make test runs it (or BMB_TEST_SPARK=all)"
    ),
]

ENGINES = [
    pytest.param("duckdb", id="duckdb"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    pytest.param("spark", id="spark", marks=_SPARK_FULL),
]


def engine_case_params(cases: list[str], spark_in_ci: set[str]) -> list[Any]:
    """(case, engine) parameters: every case on DuckDB and PostgreSQL; on Spark, the
    cases in ``spark_in_ci`` run in CI and the others are marked ``slow`` (each Spark
    query costs about half a second even on ten rows, so the whole suite on Spark takes
    minutes; ``pytest -m slow`` runs it)."""
    out = []
    for case in cases:
        out.append(pytest.param(case, "duckdb", id=f"duckdb-{case}"))
        out.append(
            pytest.param(case, "postgres", id=f"postgres-{case}", marks=pytest.mark.postgres)
        )
        marks = [] if case in spark_in_ci else _SPARK_FULL
        out.append(pytest.param(case, "spark", id=f"spark-{case}", marks=marks))
    return out


@dataclass
class CdmWorld:
    """An engine whose CDM a test can fill."""

    name: str
    engine: Any
    load: Callable[[Mapping[str, pa.Table]], None]
    cleanup: list[Callable[[], None]] = field(default_factory=list)


_SPARK: Any = None


def spark_engine() -> Any:
    """The session-wide local Spark engine (started on first use)."""
    global _SPARK
    if _SPARK is None:
        from bmb.engines.spark_engine import SparkEngine

        _SPARK = SparkEngine.local(cores=1, memory="1g", shuffle_partitions=1)
        for name in CDM_TABLES:
            _SPARK.load_arrow(name, cdm_table(name))
    return _SPARK


def make_world(kind: str) -> Iterator[CdmWorld]:
    if kind == "duckdb":
        from bmb.engines.duckdb_engine import DuckDBEngine

        engine = DuckDBEngine.in_memory(threads=2)
        yield CdmWorld(kind, engine, lambda t: load_cdm(engine, t))
        engine.close()
    elif kind == "postgres":
        import psycopg

        from bmb.engines.postgres_engine import PostgresEngine

        schema = f"bmb_t_{secrets.token_hex(5)}"
        try:
            with psycopg.connect(PG_DSN, autocommit=True) as admin:
                admin.execute(f"CREATE SCHEMA {schema}")  # type: ignore[arg-type]
        except psycopg.OperationalError as exc:
            pytest.fail(f"PostgreSQL at {PG_DSN} is needed: {exc}")
        engine = PostgresEngine(PG_DSN, cdm_schema=schema)
        try:
            yield CdmWorld(kind, engine, lambda t: load_cdm(engine, t))
        finally:
            engine.close()
            with psycopg.connect(PG_DSN, autocommit=True) as admin:
                admin.execute(f"DROP SCHEMA {schema} CASCADE")  # type: ignore[arg-type]
    elif kind == "spark":
        engine = spark_engine()
        loaded: set[str] = set()

        def load(tables: Mapping[str, pa.Table]) -> None:
            for name in loaded - set(tables):
                engine.load_arrow(name, cdm_table(name))
            for name, table in tables.items():
                engine.load_arrow(name, cdm_table(name, table))
            loaded.clear()
            loaded.update(tables)

        yield CdmWorld(kind, engine, load)
        load({})
    else:
        raise ValueError(kind)
