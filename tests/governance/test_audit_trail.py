"""The audit trail: every change, removal, reordering or truncation is detected."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import delete, select, update

from bmb.domain.governance.audit import FaultKind
from bmb.governance import users
from bmb.governance.audit import VerifyReport, checkpoint, verify
from bmb.governance.db import GovernanceStore, open_store
from bmb.governance.schema import AuditHeadRow, AuditRow, CheckpointRow
from bmb.governance.signing import Signer, create_key
from tests.governance.conftest import KEY_HOLDER, LAKE_ID, People


def some_events(people: People, n: int = 6) -> None:
    for i in range(n):
        users.issue_token(people.store, actor=people.researcher, name="rita", label=f"t{i}")


def kinds(store: GovernanceStore, key: bytes | None = None) -> set[FaultKind]:
    return {f.kind for f in verify(store, public_key=key).faults}


def test_an_untouched_trail_verifies(people: People, signer: Signer) -> None:
    some_events(people)
    checkpoint(people.store, actor=people.controller, signer=signer)
    report = verify(people.store, public_key=signer.public_bytes)
    assert report.ok
    assert report.checkpoints_verified == 1
    assert report.entries == report.head_seq > 10


def test_a_changed_entry_is_detected(people: People) -> None:
    some_events(people)
    with people.store.transaction() as tx:
        tx.execute(update(AuditRow).where(AuditRow.seq == 5).values(details='{"x":1}'))
    assert FaultKind.CHANGED in kinds(people.store)


def test_a_changed_entry_with_a_recomputed_hash_breaks_the_next_link(people: People) -> None:
    from bmb.domain.governance.audit import entry_hash
    from bmb.governance.audit import row_entry

    some_events(people)
    with people.store.transaction() as tx:
        row = tx.execute(select(AuditRow).where(AuditRow.seq == 5)).scalar_one()
        row.actor = "someone-else"
        row.hash = entry_hash(row.prev_hash, row_entry(row))
    assert kinds(people.store) == {FaultKind.BROKEN_LINK}


def test_a_removed_entry_is_detected(people: People) -> None:
    some_events(people)
    with people.store.transaction() as tx:
        tx.execute(delete(AuditRow).where(AuditRow.seq == 4))
    assert {FaultKind.GAP, FaultKind.BROKEN_LINK} <= kinds(people.store)


def test_reordered_entries_are_detected(people: People) -> None:
    some_events(people)
    with people.store.transaction() as tx:
        a = tx.execute(select(AuditRow).where(AuditRow.seq == 4)).scalar_one()
        b = tx.execute(select(AuditRow).where(AuditRow.seq == 5)).scalar_one()
        fields = ("at", "actor", "action", "target", "outcome", "details", "prev_hash", "hash")
        values_a = {f: getattr(a, f) for f in fields}
        for f in fields:
            setattr(a, f, getattr(b, f))
            setattr(b, f, values_a[f])
    assert kinds(people.store) & {FaultKind.CHANGED, FaultKind.BROKEN_LINK}


def test_a_truncated_trail_is_caught_by_its_checkpoint(people: People, signer: Signer) -> None:
    some_events(people)
    cp = checkpoint(people.store, actor=people.controller, signer=signer)
    with people.store.transaction() as tx:
        tx.execute(delete(AuditRow).where(AuditRow.seq >= cp.seq - 1))
        last = tx.execute(select(AuditRow).order_by(AuditRow.seq.desc()).limit(1)).scalar_one()
        tx.execute(update(AuditHeadRow).values(seq=last.seq, hash=last.hash))
    assert FaultKind.CHECKPOINT in kinds(people.store, signer.public_bytes)


def test_a_rewritten_and_resigned_trail_fails_against_the_trusted_key(
    people: People, signer: Signer, tmp_path: object
) -> None:
    from pathlib import Path

    some_events(people)
    checkpoint(people.store, actor=people.controller, signer=signer)
    forger = create_key(Path(str(tmp_path)) / "forged-key")
    with people.store.transaction() as tx:
        tx.execute(delete(CheckpointRow))
    checkpoint(people.store, actor=people.controller, signer=forger)
    assert kinds(people.store, signer.public_bytes) == {FaultKind.CHECKPOINT}
    assert verify(people.store, public_key=None).ok  # without an anchor, forgery passes
    assert not verify(people.store, public_key=None).trusted_key


def test_a_forged_signature_is_detected(people: People, signer: Signer) -> None:
    some_events(people)
    checkpoint(people.store, actor=people.controller, signer=signer)
    with people.store.transaction() as tx:
        tx.execute(update(CheckpointRow).values(signature=b"\0" * 64))
    assert kinds(people.store, signer.public_bytes) == {FaultKind.CHECKPOINT}


def test_checkpoints_are_signed_periodically(people: People, signer: Signer) -> None:
    store = open_store(
        people.store.engine.url.render_as_string(hide_password=False),
        lake_id=LAKE_ID,
        signer=signer,
    )
    store.checkpoint_every = 5
    try:
        for i in range(12):
            users.issue_token(store, actor=people.researcher, name="rita", label=f"p{i}")
        report = verify(store, public_key=signer.public_bytes)
    finally:
        store.close()
    assert report.ok
    assert report.checkpoints >= 2


def _three_threads_append(url: str, per_thread: int) -> VerifyReport:
    """Three connections issue tokens at once; the chain they leave, verified."""
    store = open_store(url, lake_id=LAKE_ID)
    info = users.bootstrap_controller(store, actor=KEY_HOLDER, name="carla", password=None)
    errors: list[BaseException] = []

    def work() -> None:
        s = open_store(url, lake_id=LAKE_ID)
        try:
            for i in range(per_thread):
                users.issue_token(s, actor=info.actor(), name="carla", label=str(i))
        except BaseException as exc:
            errors.append(exc)
        finally:
            s.close()

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    report = verify(store, public_key=None)
    store.close()
    return report


def test_concurrent_appends_keep_one_chain(tmp_path: object) -> None:
    from pathlib import Path

    report = _three_threads_append(f"sqlite:///{Path(str(tmp_path)) / 'g.db'}", 15)
    assert report.ok
    assert report.entries == 1 + 45


@pytest.mark.postgres
def test_concurrent_appends_on_postgres_keep_one_chain(pg_database: str) -> None:
    import secrets

    import psycopg

    schema = f"c_{secrets.token_hex(4)}"
    with psycopg.connect(pg_database.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")  # type: ignore[arg-type]
    report = _three_threads_append(f"{pg_database}?options=-csearch_path%3D{schema}", 10)
    assert report.ok
    assert report.entries == 31
