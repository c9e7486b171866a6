"""The one narrow protocol every query engine implements.

Analytics build SQL once (SQLGlot expressions, transpiled to the engine's dialect) and
hand it to an engine; they never import a driver. An engine knows where the CDM tables
are (a lake snapshot, a PostgreSQL schema, Spark's catalog) and returns Arrow tables.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import pyarrow as pa


class Engine(Protocol):
    """A query engine over one OMOP CDM."""

    #: SQLGlot dialect name of the SQL this engine runs ("duckdb", "postgres", "spark").
    dialect: str

    def query(self, sql: str) -> pa.Table:
        """Run one SQL statement in the engine's dialect and return its rows."""
        ...

    def execute(self, sql: str) -> None:
        """Run one statement for its effect (create a temporary table, drop it)."""
        ...

    def table_names(self) -> list[str]:
        """The CDM (and result) tables this engine can see."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...
