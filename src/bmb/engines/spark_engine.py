"""Spark: the scale-out engine, reading the lake snapshot's live Parquet files.

Spark's SQL is compiled from the same model as every engine's (SQLGlot, dialect
``spark``). The engine registers each CDM table as a temporary view over the
snapshot's data files (Iceberg's Spark runtime is not needed: copy-on-write snapshots
are fully described by their live files, ADR 0004). Intermediate results are cached
tables (``CACHE TABLE ... AS``), Spark's way of materializing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa


class SparkEngine:
    """An engine over a Spark session whose temporary views are the CDM tables."""

    dialect = "spark"

    def __init__(self, session: Any, *, snapshot_id: str | None = None) -> None:
        self.session = session
        self.snapshot_id = snapshot_id

    @classmethod
    def local(
        cls,
        *,
        cores: int = 2,
        memory: str = "2g",
        app_name: str = "bmb",
        shuffle_partitions: int | None = None,
    ) -> SparkEngine:
        """A local-mode session (tests, one machine).

        ``shuffle_partitions`` defaults to twice the cores; tiny test data runs fastest
        with 1 (each partition is a task, and tasks cost more than rows there).
        """
        partitions = shuffle_partitions or max(2, cores * 2)
        from pyspark.sql import SparkSession

        session = (
            SparkSession.builder.master(f"local[{cores}]")
            .appName(app_name)
            .config("spark.driver.memory", memory)
            .config("spark.sql.shuffle.partitions", str(partitions))
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.ui.enabled", "false")
            .getOrCreate()
        )
        session.sparkContext.setLogLevel("ERROR")
        return cls(session)

    def query(self, sql: str) -> pa.Table:
        table: pa.Table = self.session.sql(sql).toArrow()
        return table

    def execute(self, sql: str) -> None:
        self.session.sql(sql)

    def table_names(self) -> list[str]:
        return sorted(t.name for t in self.session.catalog.listTables())

    def close(self) -> None:
        for name in self.table_names():
            self.session.catalog.dropTempView(name)

    def stop(self) -> None:
        """Stop the session itself (``close`` only forgets this engine's views)."""
        self.session.stop()

    def materialize(self, name: str, select_sql: str) -> None:
        self.drop(name)
        self.session.sql(f"CACHE TABLE {name} AS {select_sql}")

    def drop(self, name: str) -> None:
        self.session.sql(f"UNCACHE TABLE IF EXISTS {name}")
        self.session.catalog.dropTempView(name)

    def load_arrow(self, name: str, table: pa.Table, *, temporary: bool = True) -> None:
        frame = self.session.createDataFrame(table)
        frame.createOrReplaceTempView(name)

    def register_parquet(self, name: str, files: Iterable[str]) -> None:
        """Make ``name`` a view over Parquet data files (a table of a lake snapshot)."""
        paths = list(files)
        if not paths:
            raise ValueError(f"no data files for {name}")
        self.session.read.parquet(*paths).createOrReplaceTempView(name)

    def register_tables(self, tables: Mapping[str, Iterable[str]]) -> None:
        """Register several tables' data files at once (table name -> files)."""
        for name, files in tables.items():
            self.register_parquet(name, files)
