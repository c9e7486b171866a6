"""Alembic environment: BMB runs migrations itself, on a connection it passes in.

``bmb.governance.db.open_store`` calls ``alembic.command.upgrade`` with the open
connection in ``config.attributes["connection"]``; there is no ``alembic.ini`` and no
offline mode, because the store is always migrated by the code that opens it.
"""

from __future__ import annotations

from alembic import context

from bmb.governance.schema import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("BMB's governance migrations run only through bmb.governance.db")
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
