"""The governance store: migrations, users and sign-in, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from bmb.domain.errors import UsageError
from bmb.domain.governance.errors import AccessDeniedError, AuthenticationError
from bmb.domain.governance.roles import Role
from bmb.governance import users
from bmb.governance.access import user_count
from bmb.governance.audit import read_entries, verify
from bmb.governance.db import GovernanceStore, open_store, schema_revision
from bmb.governance.schema import Base
from tests.governance.conftest import KEY_HOLDER, LAKE_ID, PASSWORD, People


def test_migrations_create_exactly_the_declared_schema(store: GovernanceStore) -> None:
    with store.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diffs == []
    assert schema_revision(store.engine) == "0001"


def test_reopening_a_store_keeps_its_data(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'g.db'}"
    with open_store(url, lake_id=LAKE_ID) as s:
        users.bootstrap_controller(s, actor=KEY_HOLDER, name="carla", password=PASSWORD)
    with open_store(url, lake_id=LAKE_ID) as s:
        assert user_count(s) == 1
        assert verify(s, public_key=None).ok


def test_bootstrap_works_once_only(store: GovernanceStore) -> None:
    users.bootstrap_controller(store, actor=KEY_HOLDER, name="carla", password=PASSWORD)
    with pytest.raises(UsageError, match="already has users"):
        users.bootstrap_controller(store, actor=KEY_HOLDER, name="mallory", password=PASSWORD)


def test_password_sign_in_and_failure_is_audited(people: People) -> None:
    store = people.store
    actor = users.authenticate_password(store, "rita", PASSWORD)
    assert actor.role is Role.RESEARCHER
    with pytest.raises(AuthenticationError):
        users.authenticate_password(store, "rita", "wrong password!!")
    with pytest.raises(AuthenticationError):
        users.authenticate_password(store, "nobody", PASSWORD)
    failed = read_entries(store, action_prefix="auth.failed")
    assert [e.target for e in failed] == ["user:rita", "user:nobody"]


def test_passwords_are_stored_as_argon2id_hashes(people: People) -> None:
    from bmb.governance.schema import UserRow

    with people.store.transaction() as tx:
        row = tx.query(UserRow).filter_by(name="rita").one()
        assert row.password_hash is not None
        assert row.password_hash.startswith("$argon2id$")
        assert PASSWORD not in row.password_hash


def test_tokens_sign_in_until_revoked_and_only_as_their_owner(people: People) -> None:
    store = people.store
    token = users.issue_token(store, actor=people.researcher, name="rita", label="laptop")
    assert users.authenticate_token(store, token).name == "rita"
    with pytest.raises(AuthenticationError):
        users.authenticate_token(store, token, name="remo")
    with pytest.raises(AuthenticationError):
        users.authenticate_token(store, token[:-2] + "xx")
    token_id = int(token.split("_")[1])
    users.revoke_token(store, actor=people.researcher, token_id=token_id)
    with pytest.raises(AuthenticationError):
        users.authenticate_token(store, token)


def test_a_disabled_user_cannot_sign_in(people: People) -> None:
    store = people.store
    token = users.issue_token(store, actor=people.researcher, name="rita")
    users.disable_user(store, actor=people.controller, name="rita")
    with pytest.raises(AuthenticationError):
        users.authenticate_password(store, "rita", PASSWORD)
    with pytest.raises(AuthenticationError):
        users.authenticate_token(store, token)


def test_only_a_controller_issues_tokens_for_others(people: People) -> None:
    with pytest.raises(AccessDeniedError):
        users.issue_token(people.store, actor=people.steward, name="rita")
    assert users.issue_token(people.store, actor=people.controller, name="rita")


def test_bad_names_and_short_passwords_are_usage_errors(people: People) -> None:
    with pytest.raises(UsageError, match="not valid"):
        users.create_user(people.store, actor=people.controller, name="a b", role=Role.STEWARD)
    with pytest.raises(UsageError, match="12 characters"):
        users.create_user(
            people.store, actor=people.controller, name="ok", role=Role.STEWARD, password="short"
        )
    with pytest.raises(UsageError, match="fiscal code"):
        users.create_user(people.store, actor=people.controller, name="cit", role=Role.CITIZEN)
