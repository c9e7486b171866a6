"""Write an OMOP CDM into a PostgreSQL schema, with OHDSI's recommended indexes.

This is ``bmb export postgres``: it gives OHDSI tools (ATLAS/WebAPI, Achilles, the
HADES R packages) a standard OMOP database built from the lake, and it is how the
benchmark builds PostgreSQL's copy of a CDM. Tables follow the CDM v5.4 DDL (types
from the spec: varchar lengths, NUMERIC, DATE, TIMESTAMP; identifiers BIGINT because
BMB's ``person_id`` is a 63-bit pseudonym), rows go in with ``COPY``, then the primary
keys of the spec and the indexes of OHDSI's ``OMOPCDM_postgresql_5.4_indices.sql``
(person, concept and visit columns, vocabulary lookups) are built and the tables
analyzed. ``cluster`` also orders each table physically by its first index, as that
file does; loading rows already sorted by person gives the same layout at no cost.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bmb.domain.cdm import CDM_TABLES, CdmField
from bmb.domain.errors import BmbError
from bmb.domain.progress import NullProgress, Progress
from bmb.engines.cdm_load import cdm_table

if TYPE_CHECKING:
    import pyarrow as pa

    from bmb.engines.base import Engine

#: OHDSI's recommended indexes for CDM v5.4 on PostgreSQL: table -> indexed columns.
#: The first entry of each table is the one ``CLUSTER`` uses.
OHDSI_INDEXES: dict[str, tuple[str, ...]] = {
    "person": ("person_id", "gender_concept_id"),
    "observation_period": ("person_id",),
    "visit_occurrence": ("person_id", "visit_concept_id"),
    "visit_detail": ("person_id", "visit_detail_concept_id", "visit_occurrence_id"),
    "condition_occurrence": ("person_id", "condition_concept_id", "visit_occurrence_id"),
    "drug_exposure": ("person_id", "drug_concept_id", "visit_occurrence_id"),
    "procedure_occurrence": ("person_id", "procedure_concept_id", "visit_occurrence_id"),
    "device_exposure": ("person_id", "device_concept_id", "visit_occurrence_id"),
    "measurement": ("person_id", "measurement_concept_id", "visit_occurrence_id"),
    "observation": ("person_id", "observation_concept_id", "visit_occurrence_id"),
    "death": ("person_id",),
    "note": ("person_id", "note_type_concept_id", "visit_occurrence_id"),
    "note_nlp": ("note_id", "note_nlp_concept_id"),
    "specimen": ("person_id", "specimen_concept_id"),
    "fact_relationship": ("domain_concept_id_1", "domain_concept_id_2", "relationship_concept_id"),
    "location": ("location_id",),
    "care_site": ("care_site_id",),
    "provider": ("provider_id",),
    "payer_plan_period": ("person_id",),
    "cost": ("cost_event_id",),
    "drug_era": ("person_id", "drug_concept_id"),
    "dose_era": ("person_id", "drug_concept_id"),
    "condition_era": ("person_id", "condition_concept_id"),
    "metadata": ("metadata_concept_id",),
    "concept": (
        "concept_id",
        "concept_code",
        "vocabulary_id",
        "domain_id",
        "concept_class_id",
    ),
    "vocabulary": ("vocabulary_id",),
    "domain": ("domain_id",),
    "concept_class": ("concept_class_id",),
    "concept_relationship": ("concept_id_1", "concept_id_2", "relationship_id"),
    "relationship": ("relationship_id",),
    "concept_synonym": ("concept_id",),
    "concept_ancestor": ("ancestor_concept_id", "descendant_concept_id"),
    "source_to_concept_map": (
        "target_concept_id",
        "source_vocabulary_id",
        "target_vocabulary_id",
        "source_code",
    ),
    "drug_strength": ("drug_concept_id", "ingredient_concept_id"),
}


@dataclass(frozen=True, slots=True)
class ExportReport:
    """What was written: rows per table and how long each phase took."""

    schema: str
    rows: dict[str, int]
    seconds: dict[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def _pg_type(f: CdmField) -> str:
    kind = f.kind
    if kind == "integer":
        return "BIGINT"
    if kind == "float":
        return "NUMERIC"
    if kind == "date":
        return "DATE"
    if kind == "datetime":
        return "TIMESTAMP"
    if f.datatype.startswith("varchar(") and f.datatype != "varchar(max)":
        return f.datatype.upper()
    return "TEXT"


def _ident(name: str) -> str:
    return '"' + name.strip('"').replace('"', '""') + '"'


def create_table_sql(schema: str, name: str, *, not_null: bool = False) -> str:
    """The CDM v5.4 DDL of one table in ``schema`` (``NOT NULL`` on required fields if asked)."""
    cols = ", ".join(
        f"{_ident(f.name)} {_pg_type(f)}{' NOT NULL' if not_null and f.required else ''}"
        for f in CDM_TABLES[name].fields
    )
    return f"CREATE TABLE {_ident(schema)}.{_ident(name)} ({cols})"


def export_cdm(
    dsn: str,
    schema: str,
    tables: Mapping[str, pa.Table | Iterable[pa.RecordBatch]],
    *,
    replace: bool = False,
    indexes: bool = True,
    primary_keys: bool = True,
    cluster: bool = False,
    not_null: bool = False,
    every_table: bool = True,
    progress: Progress | None = None,
) -> ExportReport:
    """Create ``schema`` in the database at ``dsn`` and fill it with ``tables``.

    ``tables`` maps CDM table names to Arrow tables or streams of record batches (for
    CDMs larger than memory); columns the CDM does not declare (the lake's ``batch``)
    are left out. With ``every_table`` the other CDM tables are created
    empty. ``replace`` drops an existing schema of that name first; otherwise an
    existing schema is an error, so an export never mixes two CDMs. ``not_null`` adds
    the spec's NOT NULL constraints: off by default, because a CDM converted from v5.3
    lacks v5.4's new required fields (``cdm_source.cdm_version_concept_id``); required
    fields are the data quality checks' business, as in the lake (ADR 0004).
    """
    import psycopg

    from bmb.engines.postgres_engine import copy_arrow

    progress = progress or NullProgress()
    unknown = set(tables) - set(CDM_TABLES)
    if unknown:
        raise BmbError(f"not OMOP CDM v5.4 tables: {', '.join(sorted(unknown))}")
    names = list(CDM_TABLES) if every_table else [n for n in CDM_TABLES if n in tables]
    seconds: dict[str, float] = {}
    rows: dict[str, int] = {}
    try:
        conn = psycopg.connect(dsn, autocommit=True)
    except psycopg.OperationalError as exc:
        raise BmbError(f"cannot connect to PostgreSQL ({str(exc).strip()})") from None
    with conn:
        exists = conn.execute(
            "SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", (schema,)
        ).fetchone()
        if exists and not replace:
            raise BmbError(
                f"schema {schema} already exists", hint="choose another --schema or pass --replace"
            )
        t0 = time.perf_counter()
        conn.execute(f"DROP SCHEMA IF EXISTS {_ident(schema)} CASCADE")
        conn.execute(f"CREATE SCHEMA {_ident(schema)}")
        for name in names:
            conn.execute(create_table_sql(schema, name, not_null=not_null))
        progress.start("load", total=len(names))
        for name in names:
            count = 0
            target = f"{_ident(schema)}.{_ident(name)}"
            for batch in _batches(name, tables.get(name)):
                copy_arrow(conn, target, batch)
                count += batch.num_rows
            rows[name] = count
            progress.advance("load")
        progress.finish("load")
        seconds["load"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        notes: list[str] = []
        if primary_keys:
            for name in names:
                pk = CDM_TABLES[name].primary_key
                if pk is None:
                    continue
                try:
                    conn.execute(
                        f"ALTER TABLE {_ident(schema)}.{_ident(name)} "
                        f"ADD CONSTRAINT xpk_{name} PRIMARY KEY ({_ident(pk)})"
                    )
                except (psycopg.errors.UniqueViolation, psycopg.errors.NotNullViolation) as exc:
                    detail = (exc.diag.message_detail or str(exc)).strip()
                    notes.append(f"{name}: no primary key on {pk} ({detail})")
        seconds["primary_keys"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        if indexes:
            for name in names:
                for i, column in enumerate(OHDSI_INDEXES.get(name, ())):
                    index = f"idx_{name}_{i + 1}"
                    table = f"{_ident(schema)}.{_ident(name)}"
                    conn.execute(f"CREATE INDEX {index} ON {table} ({_ident(column)})")
                    if cluster and i == 0:
                        conn.execute(f"CLUSTER {_ident(schema)}.{_ident(name)} USING {index}")
        seconds["indexes"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        for name in names:
            conn.execute(f"ANALYZE {_ident(schema)}.{_ident(name)}")
        seconds["analyze"] = time.perf_counter() - t0
    return ExportReport(schema, rows, seconds, tuple(notes))


def _batches(name: str, source: pa.Table | Iterable[pa.RecordBatch] | None) -> Iterable[pa.Table]:
    import pyarrow as pa

    if source is None:
        return
    if isinstance(source, pa.Table):
        yield cdm_table(name, source, drop_extra=True)
        return
    for batch in source:
        yield cdm_table(name, pa.Table.from_batches([batch]), drop_extra=True)


def engine_tables(engine: Engine, *, batch_rows: int = 1_000_000) -> dict[str, Any]:
    """Every CDM table of ``engine`` as record batch streams (for :func:`export_cdm`).

    A DuckDB engine streams (the lake's snapshot never has to fit in memory); other
    engines return whole tables.
    """
    con = getattr(engine, "con", None)
    out: dict[str, Any] = {}
    for name in CDM_TABLES:
        if con is not None:
            cursor = con.cursor()  # one open result per cursor (DuckDB 2)
            out[name] = cursor.sql(f"SELECT * FROM {name}").to_arrow_reader(batch_rows)
        else:
            out[name] = engine.query(f"SELECT * FROM {name}")
    return out
