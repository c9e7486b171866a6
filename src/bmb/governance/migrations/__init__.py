"""Alembic migrations of the governance store, shipped inside the package and run on open."""
