"""Governance stores for tests: SQLite in a temporary folder and PostgreSQL.

PostgreSQL gets one database of its own per test run (``bmb_gov_<random>``, dropped at
the end) and one schema per test, so tests never see each other's rows and never touch
what other people keep in the shared ``test`` database.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from bmb.domain.governance.actors import Actor
from bmb.domain.governance.roles import Role
from bmb.governance import users
from bmb.governance.db import GovernanceStore, open_store
from bmb.governance.signing import Signer, create_key

PG_ADMIN = os.environ.get("BMB_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
PASSWORD = "correct horse battery"
LAKE_ID = "testlake0001"


@pytest.fixture(autouse=True)
def _fast_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 with small parameters: the same code path, a hundred times faster."""
    monkeypatch.setattr(users, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024))


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    import psycopg

    name = f"bmb_gov_{secrets.token_hex(4)}"
    try:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL at {PG_ADMIN} is needed: {exc}")
    base = PG_ADMIN.rsplit("/", 1)[0]
    yield f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://")
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE {name} WITH (FORCE)")  # type: ignore[arg-type]


def make_store(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> GovernanceStore:
    if kind == "sqlite":
        return open_store(f"sqlite:///{tmp_path / 'governance.db'}", lake_id=LAKE_ID)
    import psycopg

    url = request.getfixturevalue("pg_database")
    schema = f"t_{secrets.token_hex(4)}"
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")  # type: ignore[arg-type]
    return open_store(f"{url}?options=-csearch_path%3D{schema}", lake_id=LAKE_ID)


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GovernanceStore]:
    s = make_store(request.param, tmp_path, request)
    yield s
    s.close()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[GovernanceStore]:
    s = open_store(f"sqlite:///{tmp_path / 'governance.db'}", lake_id=LAKE_ID)
    yield s
    s.close()


@pytest.fixture
def signer(tmp_path: Path) -> Signer:
    return create_key(tmp_path / "keys" / "audit-ed25519")


KEY_HOLDER = Actor.system("keyholder")


class People:
    """One user per role, created through the real actions."""

    def __init__(self, store: GovernanceStore) -> None:
        self.store = store
        self.controller = users.bootstrap_controller(
            store, actor=KEY_HOLDER, name="carla", password=PASSWORD
        ).actor()
        c = self.controller
        self.steward = self._add("stefano", Role.STEWARD)
        self.steward2 = self._add("sara", Role.STEWARD)
        self.planner = self._add("paolo", Role.PLANNER)
        self.researcher = self._add("rita", Role.RESEARCHER)
        self.researcher2 = self._add("remo", Role.RESEARCHER)
        self.industry = self._add("ivo", Role.INDUSTRY)
        self.auditor = self._add("aldo", Role.AUDITOR)
        self.citizen = users.create_user(
            store, actor=c, name="cinzia", role=Role.CITIZEN, password=PASSWORD, person_id=4242
        ).actor()

    def _add(self, name: str, role: Role) -> Actor:
        return users.create_user(
            self.store, actor=self.controller, name=name, role=role, password=PASSWORD
        ).actor()

    def by_role(self) -> dict[Role, Actor]:
        return {
            Role.CONTROLLER: self.controller,
            Role.STEWARD: self.steward,
            Role.PLANNER: self.planner,
            Role.RESEARCHER: self.researcher,
            Role.INDUSTRY: self.industry,
            Role.CITIZEN: self.citizen,
            Role.AUDITOR: self.auditor,
        }


@pytest.fixture
def people(store: GovernanceStore) -> People:
    return People(store)
