"""Permit-scoped engine sessions: the only way analysts read person-level data.

A session is a DuckDB connection over one lake snapshot whose CDM tables are views that
already apply the permit (invariant 4):

* only the permit's tables and columns exist (plus the vocabularies);
* only the permit's population, minus everyone opted out, is in them; the opt-out set
  is read again before every query, so an opt-out counts from the next query on;
* every id that could link a row to a person across projects (``person_id``, each
  event's own id, the foreign keys to them) is replaced by the project's pseudonym,
  HMAC-SHA-256 under a key derived from the master key for this project (HKDF), so two
  projects' extracts do not join.

The caller never applies these rules and cannot see around them: the views are built
over objects in hidden schemas that the SQL check refuses to name
(``session_sql``), and once the views exist the connection is locked (no file access
outside the lake's tables, configuration frozen, no Python variables as tables).

``PermitSession`` has the engine protocol (``query``, ``execute``, ``table_names``,
``close``) and the lake engine's ``snapshot``; what may *leave* the session goes through
``session_outputs`` and the output policy.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from bmb.domain.cdm import CDM_TABLES
from bmb.domain.governance.permits import Permit, Population
from bmb.domain.governance.scope import (
    ALWAYS_VISIBLE,
    DROPPED_COLUMNS,
    PERSON_COLUMN,
    person_level_ids,
)
from bmb.domain.project_keys import hmac_pads
from bmb.engines.session_sql import CheckedSql, check_sql
from bmb.lake.snapshots import LakeSnapshot
from bmb.lake.store import Lake
from bmb.lake.views import files_select

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

_MASK63 = 9223372036854775807


class OptOutSource(Protocol):
    """Who has opted out now (the governance registry implements it)."""

    def opted_out(self) -> frozenset[int]: ...


class FixedOptOuts:
    """A fixed opt-out set (tests, and sessions opened outside a governance store)."""

    def __init__(self, ids: frozenset[int] = frozenset()) -> None:
        self.ids = ids

    def opted_out(self) -> frozenset[int]:
        return self.ids


#: Called after every query: (checked SQL, rows returned, accepted?).
QueryHook = Callable[[str, int, bool], None]


class PermitSession:
    """A DuckDB connection whose tables are the permit's scoped, pseudonymized views."""

    dialect = "duckdb"

    def __init__(
        self,
        lake: Lake,
        snapshot: LakeSnapshot,
        connection: duckdb.DuckDBPyConnection,
        permit: Permit,
        *,
        optouts: OptOutSource,
        hidden: str,
        on_query: QueryHook | None = None,
    ) -> None:
        self.lake = lake
        self.snapshot = snapshot
        self.permit = permit
        self.con = connection
        self._optouts = optouts
        self._current_optouts: frozenset[int] | None = None
        self._hidden = hidden
        self._on_query = on_query
        self._views = set(permit.visible_tables())
        self._temps: set[str] = set()
        self.build_seconds = 0.0

    # -- the engine protocol ----------------------------------------------------------

    @property
    def snapshot_label(self) -> str:
        return self.snapshot.label()

    @property
    def hidden_schema(self) -> str:
        """Where the session keeps what its views are built on (never queryable)."""
        return self._hidden

    def check(self, sql: str) -> CheckedSql:
        """The statement as the session would run it, or :class:`SessionSqlError`."""
        try:
            return check_sql(sql, self._views, self._temps)
        except Exception:
            if self._on_query is not None:
                self._on_query(sql, 0, False)
            raise

    def query(self, sql: str) -> pa.Table:
        """Run one checked query on the scoped views and return its rows."""
        checked = self.check(sql)
        self.refresh_optouts()
        if checked.kind != "query":
            self._run_ddl(checked)
            return self.con.sql("SELECT 0 AS done WHERE false").to_arrow_table()
        table = self.con.sql(checked.sql).to_arrow_table()
        if self._on_query is not None:
            self._on_query(checked.sql, table.num_rows, True)
        return table

    def execute(self, sql: str) -> None:
        """Run a checked ``CREATE TEMP TABLE ... AS`` or ``DROP TABLE`` of one."""
        checked = self.check(sql)
        self.refresh_optouts()
        if checked.kind == "query":
            self.con.sql(checked.sql).fetchall()
        else:
            self._run_ddl(checked)
        if self._on_query is not None:
            self._on_query(checked.sql, 0, True)

    def _run_ddl(self, checked: CheckedSql) -> None:
        self.con.execute(checked.sql)
        assert checked.name is not None
        if checked.kind == "create_temp":
            self._temps.add(checked.name)
        else:
            self._temps.discard(checked.name)

    def record(self, sql: str, rows: int) -> None:
        """Report a query BMB ran for the caller (an output's source) to the audit hook."""
        if self._on_query is not None:
            self._on_query(sql, rows, True)

    def table_names(self) -> list[str]:
        return sorted(self._views | self._temps)

    def refresh_optouts(self) -> None:
        """Re-read the opt-out registry; rebuild the exclusion table if it changed."""
        ids = self._optouts.opted_out()
        if ids == self._current_optouts:
            return
        stale = sorted(self._temps) if self._current_optouts is not None else []
        for name in stale:  # made before the change: they may hold who just opted out
            self.con.execute(f"DROP TABLE IF EXISTS temp.{name}")
        self._temps.clear()
        self.con.execute(
            f"CREATE OR REPLACE TABLE {self._hidden}.optout AS "
            "SELECT CAST(unnest(?) AS BIGINT) AS person_id",
            [sorted(ids)],
        )
        self._current_optouts = ids
        if stale:
            from bmb.domain.errors import BmbError

            raise BmbError(
                f"the opt-out registry changed: temporary tables {', '.join(stale)} were "
                "dropped because they may hold persons who opted out",
                hint="run the analysis again",
            )

    def internal(self, sql: str) -> Any:
        """Run trusted SQL written by BMB itself (outputs), with fresh opt-outs."""
        self.refresh_optouts()
        return self.con.sql(sql)

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> PermitSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_session(
    lake: Lake | str | Path,
    *,
    permit: Permit,
    project_key: bytes,
    optouts: OptOutSource | None = None,
    snapshot: int | None = None,
    on_query: QueryHook | None = None,
    threads: int | None = None,
    memory_limit: str | None = None,
) -> PermitSession:
    """Open a session under ``permit`` at the lake's current (or a given) snapshot.

    ``project_key`` is the permit's project key (``bmb.domain.project_keys.project_key``
    of the master key and the project id); the caller checks that the actor may use the
    permit (``bmb.governance.sessions.open_session``) before calling this.
    """
    import duckdb

    the_lake = lake if isinstance(lake, Lake) else Lake.open(Path(lake))
    snap = the_lake.snapshot(snapshot)
    config: dict[str, Any] = {"python_enable_replacements": False}
    if threads:
        config["threads"] = threads
    if memory_limit:
        config["memory_limit"] = memory_limit
    con = duckdb.connect(config=config)
    hidden = f"_bmb_{secrets.token_hex(6)}"
    t0 = time.perf_counter()
    _build(con, the_lake, snap, permit, project_key, hidden)
    session = PermitSession(
        the_lake,
        snap,
        con,
        permit,
        optouts=optouts or FixedOptOuts(),
        hidden=hidden,
        on_query=on_query,
    )
    session.refresh_optouts()
    _lock(con, the_lake)
    session.build_seconds = time.perf_counter() - t0
    return session


def _build(
    con: duckdb.DuckDBPyConnection,
    lake: Lake,
    snap: LakeSnapshot,
    permit: Permit,
    project_key: bytes,
    h: str,
) -> None:
    con.execute(f"CREATE SCHEMA {h}")
    ipad, opad = hmac_pads(project_key)
    con.execute(f"CREATE TABLE {h}.k AS SELECT ?::BLOB AS ipad, ?::BLOB AS opad", [ipad, opad])
    # HMAC-SHA-256(project key, "<kind>:<id>"), 63-bit cut: identical to
    # bmb.domain.project_keys.project_pseudonym, computed in SQL.
    con.execute(
        f"""CREATE MACRO {h}.pseudo(x, kind) AS (
            CASE WHEN x IS NULL THEN NULL ELSE (
              SELECT CASE WHEN v = 0 THEN 1 ELSE v END FROM (
                SELECT ((('0x' || substr(sha256(k.opad || unhex(sha256(
                  k.ipad || encode(kind || ':' || CAST(x AS VARCHAR))))), 1, 16))::UBIGINT
                  & {_MASK63}::UBIGINT)::BIGINT) AS v FROM {h}.k AS k))
            END)"""
    )
    needed = {s.table for s in permit.tables} | set(ALWAYS_VISIBLE) | {"person", "location"}
    if permit.population is not None and permit.population.cohort_definition_id is not None:
        needed.add("cohort")
    for name in sorted(needed):
        files = lake.data_files(f"cdm.{name}", snap)
        con.execute(f"CREATE VIEW {h}.raw_{name} AS {files_select(CDM_TABLES[name], files)}")
    con.execute(f"CREATE TABLE {h}.optout (person_id BIGINT)")
    con.execute(
        f"CREATE TABLE {h}.scope AS SELECT person_id, {h}.pseudo(person_id, 'person') AS pid "
        f"FROM (SELECT DISTINCT person_id FROM {h}.raw_person "
        f"WHERE person_id IN ({_population_sql(lake, snap, permit.population, h)}))"
    )
    con.execute(
        f"CREATE VIEW {h}.persons AS SELECT person_id, pid FROM {h}.scope "
        f"WHERE person_id NOT IN (SELECT person_id FROM {h}.optout)"
    )
    for table in permit.visible_tables():
        con.execute(f"CREATE VIEW main.{table} AS {_view_sql(table, permit, h)}")


def _population_sql(lake: Lake, snap: LakeSnapshot, pop: Population | None, h: str) -> str:
    if pop is None:
        return f"SELECT person_id FROM {h}.raw_person"
    if pop.cohort_definition_id is not None:
        return (
            f"SELECT subject_id FROM {h}.raw_cohort "
            f"WHERE cohort_definition_id = {int(pop.cohort_definition_id)}"
        )
    from bmb.domain.governance.errors import PermitError

    qname = f"derived.{pop.derived_table}"
    files = lake.data_files(qname, snap)
    if not files:
        raise PermitError(
            f"the permit's population {qname} is not in lake snapshot {snap.lake_snapshot_id}"
        )
    listing = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    return (
        f"SELECT * FROM (SELECT COLUMNS('^(person_id|subject_id)$') "
        f"FROM read_parquet([{listing}], hive_partitioning = false))"
    )


def _view_sql(table: str, permit: Permit, h: str) -> str:
    decl = CDM_TABLES[table]
    scope = permit.scope_of(table)
    allowed = scope.columns if scope is not None and scope.columns is not None else None
    cols = [
        f.name
        for f in decl.fields
        if f.name not in DROPPED_COLUMNS and (allowed is None or f.name in allowed)
    ]
    owner = PERSON_COLUMN.get(table)
    if owner is None:  # reference and vocabulary tables hold nobody's data
        return f"SELECT {', '.join(cols) or 'NULL AS nothing'} FROM {h}.raw_{table}"
    ids = person_level_ids(table)
    select = []
    for c in cols:
        if c == owner:
            select.append(f"p.pid AS {c}")
        elif c in ids:
            select.append(f"{h}.pseudo(r.{c}, '{ids[c]}') AS {c}")
        else:
            select.append(f"r.{c}")
    return (
        f"SELECT {', '.join(select) or 'NULL AS nothing'} FROM {h}.raw_{table} AS r "
        f"JOIN {h}.persons AS p ON p.person_id = r.{owner}"
    )


def _lock(con: duckdb.DuckDBPyConnection, lake: Lake) -> None:
    """No file access beyond the lake's tables, no extensions, configuration frozen."""
    warehouse = str(lake.paths.warehouse.resolve()) + "/"
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    con.execute("SET allow_community_extensions = false")
    con.execute("SET allowed_directories = ?", [[warehouse]])
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


def in_population(
    lake: Lake, *, snapshot_id: int, population: Population | None, person_id: int
) -> bool:
    """Whether a person was in the lake, and in a permit's population, at a snapshot.

    The transparency page asks this for every snapshot a project's sessions read, so a
    citizen learns which projects could see their data, not merely which exist.
    """
    import duckdb

    snap = lake.snapshot(snapshot_id)
    con = duckdb.connect(config={"python_enable_replacements": False})
    try:
        h = "scope_check"
        con.execute(f"CREATE SCHEMA {h}")
        tables = ["person"] + (
            ["cohort"] if population is not None and population.cohort_definition_id else []
        )
        for name in tables:
            files = lake.data_files(f"cdm.{name}", snap)
            con.execute(f"CREATE VIEW {h}.raw_{name} AS {files_select(CDM_TABLES[name], files)}")
        rows = con.execute(
            f"SELECT count(*) FROM {h}.raw_person WHERE person_id = ? AND person_id IN "
            f"({_population_sql(lake, snap, population, h)})",
            [person_id],
        ).fetchall()
        return bool(rows[0][0])
    finally:
        con.close()
