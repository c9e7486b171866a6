"""``export_cdm`` writes an OHDSI-indexed OMOP schema that OHDSI-style queries can use."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pyarrow as pa
import pytest

from bmb.analytics.cohort import generate_cohort
from bmb.domain.cohort import api as c
from bmb.domain.errors import BmbError
from bmb.engines.postgres_engine import PostgresEngine
from bmb.engines.postgres_export import OHDSI_INDEXES, export_cdm
from tests.engine_fixtures import PG_DSN

pytestmark = pytest.mark.postgres


@pytest.fixture
def schema() -> Iterator[str]:
    name = f"bmb_x_{secrets.token_hex(5)}"
    yield name
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def gibleed(fixtures_dir: Path) -> dict[str, pa.Table]:
    from bmb.sources.cdm_csv import read_cdm_csv

    return read_cdm_csv(fixtures_dir / "eunomia" / "GiBleed_5.3").tables


def test_export_writes_rows_keys_and_ohdsi_indexes(
    schema: str, gibleed: dict[str, pa.Table]
) -> None:
    report = export_cdm(PG_DSN, schema, gibleed)

    assert report.rows["person"] == 2694
    assert report.rows["condition_occurrence"] == 65332
    with psycopg.connect(PG_DSN) as conn:
        indexed = {
            (r[0], r[1])
            for r in conn.execute(
                "SELECT t.relname, a.attname FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid "
                "JOIN pg_namespace n ON n.oid = t.relnamespace "
                "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY(i.indkey) "
                "WHERE n.nspname = %s",
                (schema,),
            )
        }
        pk = conn.execute(
            "SELECT count(*) FROM information_schema.table_constraints "
            "WHERE table_schema = %s AND constraint_type = 'PRIMARY KEY'",
            (schema,),
        ).fetchone()
    for table, columns in OHDSI_INDEXES.items():
        for column in columns:
            assert (table, column) in indexed
    assert pk is not None
    assert pk[0] >= 20
    # Eunomia's drug_exposure repeats an id: that key is reported, not fatal.
    assert any(n.startswith("drug_exposure: no primary key") for n in report.notes)


def test_exported_schema_serves_cohorts(schema: str, gibleed: dict[str, pa.Table]) -> None:
    export_cdm(PG_DSN, schema, gibleed, primary_keys=False)
    definition = (
        c.Cohort("GI bleed")
        .concept_set(0, "GI bleed", c.concept(192671, descendants=True))
        .entry(c.condition_occurrence(0, first=True))
        .build()
    )
    with PostgresEngine(PG_DSN, schema) as engine:
        assert generate_cohort(engine, definition).persons == 479


def test_existing_schema_is_not_overwritten_without_replace(schema: str) -> None:
    export_cdm(PG_DSN, schema, {}, indexes=False)
    with pytest.raises(BmbError, match="already exists"):
        export_cdm(PG_DSN, schema, {})
    export_cdm(PG_DSN, schema, {}, replace=True, indexes=False)
