"""Optional engine capabilities, as small protocols (Ibis-style mixins).

:class:`bmb.engines.base.Engine` stays narrow: dialect, query, execute, table names,
close. Analytics need two more things from some engines: keeping an intermediate
result (a cohort's qualified events) for the next step, and receiving rows from
Python (a cohort read from a file). Engines that can do better than plain SQL offer
these; :func:`materialize` and :func:`drop` fall back to portable SQL otherwise.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Concatenate, ParamSpec, Protocol, TypeVar, runtime_checkable

if TYPE_CHECKING:
    import pyarrow as pa

    from bmb.engines.base import Engine


@runtime_checkable
class Materializes(Protocol):
    """Keeps a query's rows under a session-local name until dropped."""

    def materialize(self, name: str, select_sql: str) -> None: ...

    def drop(self, name: str) -> None: ...


@runtime_checkable
class LoadsArrow(Protocol):
    """Receives an Arrow table as a named table the engine's SQL can read."""

    def load_arrow(self, name: str, table: pa.Table, *, temporary: bool = True) -> None: ...


def materialize(engine: Engine, name: str, select_sql: str) -> None:
    """Store ``select_sql``'s rows as ``name`` for the rest of the session."""
    if isinstance(engine, Materializes):
        engine.materialize(name, select_sql)
    elif engine.dialect == "spark":
        engine.execute(f"CACHE TABLE {name} AS {select_sql}")
    else:
        engine.execute(f"DROP TABLE IF EXISTS {name}")
        engine.execute(f"CREATE TEMPORARY TABLE {name} AS {select_sql}")


def drop(engine: Engine, name: str) -> None:
    """Forget a name created by :func:`materialize` or ``load_arrow``."""
    if isinstance(engine, Materializes):
        engine.drop(name)
    elif engine.dialect == "spark":
        engine.execute(f"UNCACHE TABLE IF EXISTS {name}")
        engine.execute(f"DROP VIEW IF EXISTS {name}")
    else:
        engine.execute(f"DROP TABLE IF EXISTS {name}")


def load_arrow(engine: Engine, name: str, table: pa.Table, *, temporary: bool = True) -> None:
    """Make ``table`` readable as ``name`` in the engine's SQL."""
    if isinstance(engine, LoadsArrow):
        engine.load_arrow(name, table, temporary=temporary)
        return
    if engine.dialect == "duckdb":  # a DuckDB engine that only offers its connection
        con = getattr(engine, "con", None) or getattr(engine, "connection", None)
        if con is not None:
            view = f"__bmb_arrow_{name}"
            con.register(view, table)
            try:
                kind = "TEMPORARY TABLE" if temporary else "TABLE"
                con.execute(f"CREATE OR REPLACE {kind} {name} AS SELECT * FROM {view}")
            finally:
                con.unregister(view)
            return
    raise TypeError(f"engine {type(engine).__name__} cannot receive Arrow tables")


def snapshot_of(engine: Engine) -> str | None:
    """The lake snapshot an engine reads, if it reads one (for provenance)."""
    for attr in ("snapshot_id", "snapshot_label"):
        value = getattr(engine, attr, None)
        if value is not None:
            return str(value)
    return None


#: DuckDB optimizers that hurt BMB's analytics: ``partitioned_execution`` (DuckDB 2)
#: splits a window over a person-sorted Parquet file into per-range partitions, each
#: of which scans the whole file again (measured: 1.1-2.6 s instead of 0.46 s for the
#: first drug exposure of 1.6 million persons).
DUCKDB_DISABLED_OPTIMIZERS = ("partitioned_execution",)


@contextmanager
def tuned(engine: Engine) -> Iterator[None]:
    """Engine settings for analytics, restored afterwards (DuckDB only, for now)."""
    con = getattr(engine, "con", None)
    if engine.dialect != "duckdb" or con is None:
        yield
        return
    known = {str(r[0]) for r in con.execute("SELECT name FROM duckdb_optimizers()").fetchall()}
    wanted = [o for o in DUCKDB_DISABLED_OPTIMIZERS if o in known]
    before = str(con.execute("SELECT current_setting('disabled_optimizers')").fetchone()[0])
    current = [o for o in before.split(",") if o.strip()]
    merged = ",".join(dict.fromkeys([*current, *wanted]))
    if merged == before:
        yield
        return
    con.execute(f"SET disabled_optimizers = '{merged}'")
    try:
        yield
    finally:
        con.execute(f"SET disabled_optimizers = '{before}'")


_P = ParamSpec("_P")
_R = TypeVar("_R")


def tuned_call(
    func: Callable[Concatenate[Engine, _P], _R],
) -> Callable[Concatenate[Engine, _P], _R]:
    """Run an analytics function (engine first) under :func:`tuned` settings."""

    @functools.wraps(func)
    def wrapper(engine: Engine, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        with tuned(engine):
            return func(engine, *args, **kwargs)

    return wrapper
