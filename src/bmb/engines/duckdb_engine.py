"""DuckDB: the default engine, in process, over the lake or any DuckDB database.

The engine wraps a connection it is given (the lake wraps one whose CDM tables are
views over a snapshot's Parquet files) or opens an in-memory one. It adds the two
capabilities analytics use: materializing an intermediate result as a temporary table
and loading Arrow tables without a copy through Python objects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa


def _to_arrow(relation: Any) -> pa.Table:
    # DuckDB 1.x names it arrow(), 2.x to_arrow_table().
    fetch = getattr(relation, "to_arrow_table", None) or relation.arrow
    table: pa.Table = fetch()
    return table


class DuckDBEngine:
    """An engine over a DuckDB connection whose default schema holds the CDM tables."""

    dialect = "duckdb"

    def __init__(
        self,
        connection: duckdb.DuckDBPyConnection | None = None,
        *,
        snapshot_id: str | None = None,
        label: str = "duckdb",
    ) -> None:
        if connection is None:
            import duckdb

            connection = duckdb.connect()
        self.con = connection
        self.snapshot_id = snapshot_id
        self.label = label

    @classmethod
    def in_memory(
        cls, *, threads: int | None = None, memory_limit: str | None = None
    ) -> DuckDBEngine:
        """A fresh in-memory database (tests, a CDM read from CSV)."""
        import duckdb

        config: dict[str, Any] = {}
        if threads:
            config["threads"] = threads
        if memory_limit:
            config["memory_limit"] = memory_limit
        return cls(duckdb.connect(config=config))

    def query(self, sql: str) -> pa.Table:
        return _to_arrow(self.con.sql(sql))

    def execute(self, sql: str) -> None:
        self.con.execute(sql)

    def table_names(self) -> list[str]:
        rows = self.con.execute(
            "SELECT DISTINCT table_name FROM information_schema.tables "
            "WHERE table_schema IN (current_schema(), 'main', 'temp') ORDER BY table_name"
        ).fetchall()
        return [str(r[0]) for r in rows]

    def close(self) -> None:
        self.con.close()

    def materialize(self, name: str, select_sql: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMPORARY TABLE {name} AS {select_sql}")

    def drop(self, name: str) -> None:
        self.con.execute(f"DROP TABLE IF EXISTS {name}")

    def load_arrow(self, name: str, table: pa.Table, *, temporary: bool = True) -> None:
        view = f"__bmb_arrow_{name}"
        self.con.register(view, table)
        try:
            kind = "TEMPORARY TABLE" if temporary else "TABLE"
            self.con.execute(f"CREATE OR REPLACE {kind} {name} AS SELECT * FROM {view}")
        finally:
            self.con.unregister(view)

    def __enter__(self) -> DuckDBEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
