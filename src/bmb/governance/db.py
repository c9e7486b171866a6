"""Opening the governance store: SQLite beside the lake, or PostgreSQL on a server.

The store is migrated to the newest schema every time it is opened (Alembic, scripts
shipped in ``bmb.governance.migrations``), so a new BMB version never meets an old
schema. Every write happens in one transaction (:meth:`GovernanceStore.transaction`),
which is where the audit event of the write is appended too: either both are stored
or neither.

SQLite transactions begin with ``BEGIN IMMEDIATE``: a writer takes the database's
write lock at the start, so two processes appending to the audit chain queue up
instead of failing on a lock upgrade. On PostgreSQL the chain's head row is locked
(``SELECT ... FOR UPDATE``) by each append.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bmb.domain.errors import BmbError, ConfigError

if TYPE_CHECKING:
    from bmb.governance.signing import Signer

#: Environment variable naming a governance store URL (PostgreSQL in a server deployment).
URL_ENV = "BMB_GOVERNANCE_URL"
#: Sign a checkpoint automatically every this many audit events, when a signer is set.
CHECKPOINT_EVERY = 100


@dataclass
class GovernanceStore:
    """An open governance store."""

    engine: Engine
    lake_id: str
    signer: Signer | None = None
    checkpoint_every: int = CHECKPOINT_EVERY
    _closed: bool = field(default=False, repr=False)

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One transaction: committed if the block ends normally, rolled back if not."""
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    def close(self) -> None:
        if not self._closed:
            self.engine.dispose()
            self._closed = True

    def __enter__(self) -> GovernanceStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def store_url(governance_db: Path, url: str | None = None) -> str:
    """The store's URL: ``url``, else ``$BMB_GOVERNANCE_URL``, else the lake's SQLite file."""
    chosen = url or os.environ.get(URL_ENV)
    if chosen:
        if chosen.startswith("postgresql://"):
            chosen = "postgresql+psycopg://" + chosen[len("postgresql://") :]
        return chosen
    return f"sqlite:///{governance_db.resolve()}"


def open_store(
    url: str, *, lake_id: str, signer: Signer | None = None, migrate: bool = True
) -> GovernanceStore:
    """Open (and migrate) the governance store at ``url``."""
    kwargs: dict[str, Any] = {"future": True}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": 60, "isolation_level": None}
    else:
        kwargs["pool_pre_ping"] = True
    try:
        engine = create_engine(url, **kwargs)
    except Exception as exc:  # a malformed URL, a missing driver
        raise ConfigError(f"cannot use governance store {url!r}: {exc}") from exc
    if engine.dialect.name == "sqlite":
        _sqlite_immediate(engine)
    store = GovernanceStore(engine, lake_id, signer)
    if migrate:
        try:
            upgrade(engine)
        except Exception as exc:
            engine.dispose()
            if isinstance(exc, BmbError):
                raise
            raise BmbError(
                f"cannot open the governance store at {store.url}: {exc.__class__.__name__}: {exc}"
            ) from exc
    return store


def _sqlite_immediate(engine: Engine) -> None:
    """pysqlite's own transaction handling off; every transaction BEGIN IMMEDIATE."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revision (nothing to do when it is there)."""
    from alembic import command
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", "bmb.governance:migrations")
    head = ScriptDirectory.from_config(config).get_current_head()
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    if current == head:
        return
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


def schema_revision(engine: Engine) -> str | None:
    """The schema revision the store is at."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
