"""Users, passwords and API tokens: who may act, and how they prove it.

Passwords are hashed with Argon2id (``argon2-cffi`` defaults, the parameters RFC 9106
recommends); a password is never stored or logged. API tokens are for scripts and the
service: ``bmb_<id>_<secret>`` with 32 random bytes of secret, shown once and stored as
SHA-256 (a fast hash is right for a high-entropy secret; Argon2 is for what people
choose). Failed authentications are audited.

The first user of a store, the controller, is created by the holder of the lake's
pseudonymization key (the CLI checks the key before calling :func:`bootstrap_controller`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bmb.domain.errors import UsageError
from bmb.domain.governance.actors import Actor
from bmb.domain.governance.audit import Outcome
from bmb.domain.governance.errors import AuthenticationError
from bmb.domain.governance.roles import Action, Role
from bmb.governance.access import require
from bmb.governance.audit import append
from bmb.governance.db import GovernanceStore
from bmb.governance.schema import TokenRow, UserRow

_HASHER = PasswordHasher()
MIN_PASSWORD = 12
TOKEN_PREFIX = "bmb_"


@dataclass(frozen=True)
class UserInfo:
    id: int
    name: str
    role: Role
    display_name: str
    active: bool
    person_id: int | None
    created_at: datetime

    def actor(self) -> Actor:
        return Actor(self.name, self.role, self.id, self.person_id)


def _info(row: UserRow) -> UserInfo:
    return UserInfo(
        row.id,
        row.name,
        Role(row.role),
        row.display_name,
        row.active,
        row.person_id,
        row.created_at,
    )


def _check_name(name: str) -> None:
    if not (1 <= len(name) <= 64) or not all(c.isalnum() or c in "._-" for c in name):
        raise UsageError(
            f"user name {name!r} is not valid", hint="use letters, digits, '.', '_' or '-'"
        )


def _check_password(password: str | None) -> None:
    if password is not None and len(password) < MIN_PASSWORD:
        raise UsageError(f"a password needs at least {MIN_PASSWORD} characters")


def _insert_user(
    tx: Session,
    *,
    name: str,
    role: Role,
    password: str | None,
    display_name: str,
    person_id: int | None,
) -> UserRow:
    if tx.execute(select(UserRow).where(UserRow.name == name)).scalar_one_or_none():
        raise UsageError(f"user {name!r} already exists")
    if role is Role.CITIZEN and person_id is None:
        raise UsageError("a citizen account needs the citizen's fiscal code (--fiscal-code)")
    if role is not Role.CITIZEN and person_id is not None:
        raise UsageError("only citizen accounts are linked to a person")
    row = UserRow(
        name=name,
        role=role.value,
        display_name=display_name,
        password_hash=_HASHER.hash(password) if password else None,
        person_id=person_id,
        active=True,
        created_at=datetime.now(UTC),
    )
    tx.add(row)
    tx.flush()
    return row


def bootstrap_controller(
    store: GovernanceStore, *, actor: Actor, name: str, password: str | None, display_name: str = ""
) -> UserInfo:
    """Create the store's first user, a controller; refused once any user exists."""
    _check_name(name)
    _check_password(password)
    with store.transaction() as tx:
        if tx.execute(select(func.count()).select_from(UserRow)).scalar_one():
            raise UsageError(
                "the store already has users", hint="a controller creates further users"
            )
        row = _insert_user(
            tx,
            name=name,
            role=Role.CONTROLLER,
            password=password,
            display_name=display_name,
            person_id=None,
        )
        append(
            tx,
            store,
            actor=actor,
            action="user.bootstrap",
            target=f"user:{name}",
            details={"role": Role.CONTROLLER.value},
        )
        return _info(row)


def create_user(
    store: GovernanceStore,
    *,
    actor: Actor,
    name: str,
    role: Role,
    password: str | None = None,
    display_name: str = "",
    person_id: int | None = None,
) -> UserInfo:
    """Create a user (controllers only)."""
    require(store, actor, Action.USER_CREATE, f"user:{name}")
    _check_name(name)
    _check_password(password)
    with store.transaction() as tx:
        row = _insert_user(
            tx,
            name=name,
            role=role,
            password=password,
            display_name=display_name,
            person_id=person_id,
        )
        append(
            tx,
            store,
            actor=actor,
            action=Action.USER_CREATE.value,
            target=f"user:{name}",
            details={"role": role.value, "citizen_linked": person_id is not None},
        )
        return _info(row)


def disable_user(store: GovernanceStore, *, actor: Actor, name: str) -> None:
    """Disable a user: no more sign-ins, tokens stop working; history stays."""
    require(
        store,
        actor,
        Action.USER_DISABLE,
        f"user:{name}",
        rule=name != actor.name,
        reason="a controller cannot disable themselves",
    )
    with store.transaction() as tx:
        row = _get(tx, name)
        row.active = False
        append(tx, store, actor=actor, action=Action.USER_DISABLE.value, target=f"user:{name}")


def list_users(store: GovernanceStore, *, actor: Actor) -> list[UserInfo]:
    require(store, actor, Action.USER_LIST, "users")
    with store.transaction() as tx:
        rows = tx.execute(select(UserRow).order_by(UserRow.name)).scalars().all()
        return [_info(r) for r in rows]


def get_user(store: GovernanceStore, name: str) -> UserInfo:
    with store.transaction() as tx:
        return _info(_get(tx, name))


def _get(tx: Session, name: str) -> UserRow:
    row = tx.execute(select(UserRow).where(UserRow.name == name)).scalar_one_or_none()
    if row is None:
        raise UsageError(f"no user named {name!r}", hint="see 'bmb user list'")
    return row


def set_password(store: GovernanceStore, *, actor: Actor, name: str, password: str) -> None:
    """Set a password: one's own, or anyone's for a controller (a reset)."""
    if name != actor.name:  # resetting another user's password is a controller's act
        require(store, actor, Action.USER_CREATE, f"user:{name}")
    _check_password(password)
    with store.transaction() as tx:
        row = _get(tx, name)
        row.password_hash = _HASHER.hash(password)
        append(tx, store, actor=actor, action="user.password", target=f"user:{name}")


def issue_token(
    store: GovernanceStore, *, actor: Actor, name: str, label: str = "", days: int | None = 90
) -> str:
    """A new API token for ``name`` (oneself, or anyone for a controller); shown once."""
    if name != actor.name:
        require(store, actor, Action.TOKEN_ISSUE_OTHER, f"user:{name}")
    elif actor.role is None:
        raise AuthenticationError("sign in as a user to get a token")
    secret = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    with store.transaction() as tx:
        user = _get(tx, name)
        if not user.active:
            raise UsageError(f"user {name!r} is disabled")
        row = TokenRow(
            user_id=user.id,
            secret_sha256=hashlib.sha256(secret.encode()).hexdigest(),
            label=label,
            created_at=now,
            expires_at=now + timedelta(days=days) if days else None,
        )
        tx.add(row)
        tx.flush()
        append(
            tx,
            store,
            actor=actor,
            action="token.issue",
            target=f"user:{name}",
            details={"token_id": row.id, "label": label, "days": days},
        )
        return f"{TOKEN_PREFIX}{row.id}_{secret}"


def revoke_token(store: GovernanceStore, *, actor: Actor, token_id: int) -> None:
    with store.transaction() as tx:
        row = tx.get(TokenRow, token_id)
        if row is None:
            raise UsageError(f"no token {token_id}")
        owner = tx.get(UserRow, row.user_id)
        own = owner is not None and owner.name == actor.name
    if not own:
        require(store, actor, Action.TOKEN_ISSUE_OTHER, f"token:{token_id}")
    with store.transaction() as tx:
        row = tx.get(TokenRow, token_id)
        assert row is not None
        row.revoked_at = datetime.now(UTC)
        append(tx, store, actor=actor, action="token.revoke", target=f"token:{token_id}")


def authenticate_password(store: GovernanceStore, name: str, password: str) -> Actor:
    with store.transaction() as tx:
        row = tx.execute(select(UserRow).where(UserRow.name == name)).scalar_one_or_none()
        ok = False
        if row is not None and row.active and row.password_hash:
            try:
                ok = _HASHER.verify(row.password_hash, password)
            except (VerificationError, InvalidHashError):
                ok = False
            if ok and _HASHER.check_needs_rehash(row.password_hash):
                row.password_hash = _HASHER.hash(password)
        info = _info(row) if row is not None else None
    if not ok or info is None:
        _failed(store, name, "wrong name or password")
    assert info is not None
    return info.actor()


def authenticate_token(store: GovernanceStore, token: str, *, name: str | None = None) -> Actor:
    """The user a token belongs to (and, if ``name`` is given, it must be theirs)."""
    token_id, secret = _parse_token(token)
    with store.transaction() as tx:
        row = tx.get(TokenRow, token_id) if token_id is not None else None
        user = tx.get(UserRow, row.user_id) if row is not None else None
        now = datetime.now(UTC)
        ok = (
            row is not None
            and user is not None
            and user.active
            and row.revoked_at is None
            and (row.expires_at is None or _aware(row.expires_at) > now)
            and hmac.compare_digest(row.secret_sha256, hashlib.sha256(secret.encode()).hexdigest())
            and (name is None or user.name == name)
        )
        info = _info(user) if (ok and user is not None) else None
    if info is None:
        _failed(store, name or "?", "invalid, expired or revoked token")
    assert info is not None
    return info.actor()


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _parse_token(token: str) -> tuple[int | None, str]:
    if not token.startswith(TOKEN_PREFIX):
        return None, ""
    ident, _, secret = token[len(TOKEN_PREFIX) :].partition("_")
    return (int(ident), secret) if ident.isdigit() and secret else (None, "")


def _failed(store: GovernanceStore, name: str, reason: str) -> None:
    with store.transaction() as tx:
        append(
            tx,
            store,
            actor=Actor(name, None),
            action="auth.failed",
            target=f"user:{name}",
            outcome=Outcome.REFUSED,
            details={"reason": reason},
        )
    raise AuthenticationError(f"cannot sign in as {name!r}: {reason}")
