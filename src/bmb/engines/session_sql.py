"""The SQL a permit session accepts: queries over its own views, nothing else.

A session's DuckDB connection also holds what builds its views (the snapshot's raw
tables, the in-scope persons, the project key), so the researcher's SQL must not reach
them. Every statement is parsed (SQLGlot, DuckDB dialect) and accepted only if it is one
query (or, for analytics that stage results, one ``CREATE TEMP TABLE ... AS`` query or a
``DROP`` of such a table) that reads nothing but the session's views, its own temporary
tables, CTEs, and the harmless table functions ``range``/``generate_series``/``unnest``,
and calls no function that reads files, settings or the catalog.

The statement DuckDB then runs is the one regenerated from the checked syntax tree, not
the text as typed, so a difference between SQLGlot's parser and DuckDB's cannot smuggle
anything past the check. Below this, the connection itself is locked (no file access
outside the lake's tables, configuration frozen): two independent walls.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from bmb.domain.errors import UsageError

#: Function names (lower case) a session never runs: files, settings, catalog, network.
_DENIED_PREFIXES = (
    "read_",
    "glob",
    "query",
    "getenv",
    "getvariable",
    "current_setting",
    "duckdb_",
    "pragma_",
    "sniff_",
    "parquet_",
    "iceberg_",
    "delta_",
    "sqlite_",
    "postgres_",
    "mysql_",
    "which_secret",
    "load",
    "install",
    "checkpoint",
    "force_checkpoint",
    "enable_",
    "disable_",
    "export_",
    "import_",
    "list_files",
    "test_",
)
_ALLOWED_TABLE_FUNCTIONS = (exp.GenerateSeries, exp.Unnest)


class SessionSqlError(UsageError):
    """SQL a session refuses; the message says what was refused."""


@dataclass(frozen=True)
class CheckedSql:
    """A statement that passed the checks, as it will run."""

    sql: str
    kind: str  # "query", "create_temp", "drop_temp"
    name: str | None = None  # the temporary table created or dropped


def check_sql(sql: str, visible: Iterable[str], temp_tables: Iterable[str] = ()) -> CheckedSql:
    """Accept ``sql`` if it reads only ``visible`` relations; return what to run."""
    try:
        statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    except ParseError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "cannot parse"
        raise SessionSqlError(f"the session cannot read this SQL: {first}") from None
    if len(statements) != 1:
        raise SessionSqlError("one statement at a time, please")
    tree = statements[0]
    allowed = {n.lower() for n in visible}
    temps = {n.lower() for n in temp_tables}
    if isinstance(tree, exp.Create):
        return _check_create(tree, allowed, temps)
    if isinstance(tree, exp.Drop):
        return _check_drop(tree, temps)
    if not isinstance(tree, exp.Query):
        raise SessionSqlError(f"a session runs queries only, not {tree.key.upper()} statements")
    _check_query(tree, allowed | temps)
    return CheckedSql(tree.sql(dialect="duckdb"), "query")


def _check_create(tree: exp.Create, allowed: set[str], temps: set[str]) -> CheckedSql:
    kind = str(tree.args.get("kind") or "").upper()
    props = tree.args.get("properties")
    temporary = props is not None and any(
        isinstance(p, exp.TemporaryProperty) for p in props.expressions
    )
    body = tree.expression
    target = tree.this
    if kind != "TABLE" or not temporary or not isinstance(body, exp.Query):
        raise SessionSqlError("a session creates only CREATE TEMP TABLE name AS SELECT ...")
    table = target if isinstance(target, exp.Table) else target.find(exp.Table)
    if table is None or table.db or not isinstance(table.this, exp.Identifier):
        raise SessionSqlError("name the temporary table without a schema")
    name = table.name.lower()
    if name in allowed:
        raise SessionSqlError(f"{name} is one of the session's tables; pick another name")
    _check_query(body, allowed | temps)
    return CheckedSql(tree.sql(dialect="duckdb"), "create_temp", name)


def _check_drop(tree: exp.Drop, temps: set[str]) -> CheckedSql:
    tables = tree.args.get("tables") or ([tree.this] if tree.this is not None else [])
    if str(tree.args.get("kind") or "").upper() != "TABLE" or len(tables) != 1:
        raise SessionSqlError("a session drops only its own temporary tables, one at a time")
    table = tables[0]
    if not isinstance(table, exp.Table) or table.db or table.name.lower() not in temps:
        raise SessionSqlError(
            f"{table.sql(dialect='duckdb')} is not a temporary table of this session"
        )
    return CheckedSql(tree.sql(dialect="duckdb"), "drop_temp", table.name.lower())


def _check_query(tree: exp.Expr, allowed: set[str]) -> None:
    ctes = {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}
    for node in tree.walk():
        if isinstance(node, exp.Table):
            _check_table(node, allowed | ctes)
        elif isinstance(node, exp.Func):
            name = (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()
            if name.startswith(_DENIED_PREFIXES) or node.key.startswith("read"):
                raise SessionSqlError(f"function {name} is not available in a session")
        elif node.key in {
            "command",
            "pragma",
            "set",
            "copy",
            "attach",
            "detach",
            "insert",
            "update",
            "delete",
            "merge",
            "create",
            "drop",
            "use",
            "install",
            "load",
        }:
            raise SessionSqlError(f"{node.key.upper()} is not available in a session")


def _check_table(node: exp.Table, allowed: set[str]) -> None:
    inner = node.this
    if isinstance(inner, _ALLOWED_TABLE_FUNCTIONS):
        return
    if not isinstance(inner, exp.Identifier):
        what = inner.sql(dialect="duckdb") if isinstance(inner, exp.Expression) else str(inner)
        raise SessionSqlError(f"{what.split('(')[0]} cannot be read in a session")
    if node.args.get("catalog") is not None or (node.db and node.db.lower() not in ("main",)):
        raise SessionSqlError(f"{node.sql(dialect='duckdb')} is not one of the session's tables")
    if node.name.lower() not in allowed:
        raise SessionSqlError(
            f"table {node.name} is not in this session (the permit's tables and the "
            "vocabularies only)"
        )
