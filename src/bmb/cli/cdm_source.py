"""Where analytics commands find a CDM: the lake, a CSV CDM, or PostgreSQL.

``--lake DIR`` (default ``$BMB_LAKE``, else ``./bmb-lake``) opens the lake's current
snapshot in DuckDB; ``--cdm-csv DIR|ZIP`` loads an OMOP CDM held as CSV into an
in-memory DuckDB (Eunomia, an export of another OMOP database); ``--postgres DSN``
with ``--cdm-schema`` runs on an existing OMOP database. Cohort arguments are
definition files (ATLAS JSON, BMB YAML/JSON), or cohort files written by
``bmb cohort run`` (``.csv``/``.parquet`` with ``subject_id, cohort_start_date,
cohort_end_date``).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from bmb.cli.options import lake_dir
from bmb.domain.errors import DataError, UsageError

if TYPE_CHECKING:
    from bmb.analytics.rates.common import CohortRef
    from bmb.engines.base import Engine
    from bmb.engines.lake import LakeEngine

CdmCsvOption = typer.Option(
    None,
    "--cdm-csv",
    help="An OMOP CDM as CSV files (folder or zip), loaded into in-memory DuckDB.",
    show_default=False,
)
PostgresOption = typer.Option(
    None,
    "--postgres",
    help="A PostgreSQL DSN holding an OMOP CDM (postgresql://user@host/db).",
    show_default=False,
)
CdmSchemaOption = typer.Option("public", "--cdm-schema", help="The CDM schema (--postgres).")
ResultsSchemaOption = typer.Option(
    None, "--results-schema", help="A results schema on the search path (--postgres)."
)
OutOption = typer.Option(
    None,
    "--out",
    help="Write the result: .csv, .parquet, .json or .html (format from the extension).",
    show_default=False,
)


@contextmanager
def open_cdm(
    lake: Path | None,
    cdm_csv: Path | None,
    postgres: str | None,
    cdm_schema: str = "public",
    results_schema: str | None = None,
    *,
    command: str,
) -> Iterator[Engine]:
    """The engine over the chosen CDM, closed on exit.

    The lake is read outside any permit, so opening it is gated and audited as
    ``lake.analyze`` (a steward's action once the lake has users).
    """
    if cdm_csv is not None and postgres is not None:
        raise UsageError("give one of --cdm-csv and --postgres, not both")
    engine: Engine
    if cdm_csv is not None:
        from bmb.engines.cdm_load import load_cdm
        from bmb.engines.duckdb_engine import DuckDBEngine
        from bmb.sources.cdm_csv import read_cdm_csv

        data = read_cdm_csv(cdm_csv)
        engine = DuckDBEngine.in_memory()
        load_cdm(engine, data.tables)
    elif postgres is not None:
        from bmb.engines.postgres_engine import PostgresEngine

        engine = PostgresEngine(postgres, cdm_schema, results_schema)
    else:
        root = lake_dir(lake)
        if not root.exists():
            raise UsageError(
                f"no lake at {root}", hint="give --lake DIR, --cdm-csv DIR or --postgres DSN"
            )
        with open_governed_lake(root, command) as lake_engine:
            yield lake_engine
        return
    try:
        yield engine
    finally:
        engine.close()


@contextmanager
def open_governed_lake(root: Path, command: str) -> Iterator[LakeEngine]:
    """The lake's current snapshot in DuckDB for a command that reads it whole.

    Such a read happens outside any permit, so it is gated and audited as
    ``lake.analyze`` (a steward's action once the lake has users); the trail keeps the
    command and the snapshot read.
    """
    from bmb.domain.governance.roles import Action
    from bmb.engines.lake import open_lake
    from bmb.service.governed import audited_lake_command

    with (
        audited_lake_command(root, Action.LAKE_ANALYZE, command) as kept,
        open_lake(root) as engine,
    ):
        kept["snapshot"] = engine.snapshot_label
        yield engine


def cohort_ref(engine: Engine, path: Path, cohort_id: int) -> CohortRef:
    """Put the cohort a file describes into the engine and refer to it."""
    from bmb.analytics.rates.common import CohortRef

    name = f"bmb_cli_{secrets.token_hex(4)}"
    suffix = path.suffix.lower()
    if suffix in (".csv", ".parquet"):
        from bmb.engines.capabilities import load_arrow

        load_arrow(engine, name, _cohort_rows(path, cohort_id))
        return CohortRef(name, None, path.stem)
    from bmb.analytics.cohort import generate_cohort
    from bmb.analytics.cohort.io import read_definition

    definition = read_definition(path)
    generate_cohort(engine, definition, cohort_id=cohort_id, keep_as=name)
    return CohortRef(name, None, definition.name or path.stem)


def _cohort_rows(path: Path, cohort_id: int) -> object:
    import pyarrow as pa

    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path)
    else:
        from pyarrow import csv

        table = csv.read_csv(path)
    needed = ("subject_id", "cohort_start_date", "cohort_end_date")
    missing = [c for c in needed if c not in table.column_names]
    if missing:
        raise DataError(f"{path}: not a cohort file, missing column(s) {', '.join(missing)}")
    try:
        return pa.table(
            {
                "cohort_definition_id": pa.array([cohort_id] * table.num_rows, pa.int64()),
                "subject_id": table.column("subject_id").cast(pa.int64()),
                "cohort_start_date": table.column("cohort_start_date").cast(pa.date32()),
                "cohort_end_date": table.column("cohort_end_date").cast(pa.date32()),
            }
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise DataError(f"{path}: cohort columns cannot be read ({exc})") from None
