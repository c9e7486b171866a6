"""Governed use of a lake: the governance store, engine sessions and outputs, joined.

The rooms below stay apart: the governance store knows no lake, the engine knows no
users. This module is where they meet, for the command line today and the web service
tomorrow: it opens the store that belongs to a lake, opens engine sessions only after
the store allowed them (and audits each query), turns session outputs into files in the
restricted output area and requests their review, hands released files out, and
answers a citizen's transparency question from the permits, the sessions and the lake.

The process running these functions is the secure processing environment: it can read
the lake's keys. Users act in it under their BMB identity and never hold the keys.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bmb.domain.errors import BmbError, UsageError
from bmb.domain.governance.actors import Actor
from bmb.domain.governance.audit import Outcome
from bmb.domain.governance.roles import Action
from bmb.governance.audit import append
from bmb.governance.db import GovernanceStore, open_store, store_url
from bmb.lake.store import Lake

if TYPE_CHECKING:
    import pyarrow as pa

    from bmb.engines.session import PermitSession
    from bmb.engines.session_outputs import SessionOutput
    from bmb.governance.outputs import OutputInfo
    from bmb.governance.signing import Signer

#: Restricted folder of the lake where outputs wait for review (mode 0700).
OUTPUTS_DIR = "outputs"
OUTPUT_FORMATS = (".csv", ".parquet", ".json")


def os_login() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return str(os.getuid())


def _signer_if_available(lake: Lake) -> Signer | None:
    from bmb.governance.signing import default_key_path, load_signer

    path = default_key_path(lake.identity.lake_id)
    if not path.is_file():
        return None
    try:
        return load_signer(path)
    except BmbError:
        return None


def open_governance(lake_root: Path, *, url: str | None = None) -> tuple[Lake, GovernanceStore]:
    """The lake and its governance store (migrated; signing checkpoints if the key is here)."""
    lake = Lake.open(lake_root)
    store = open_store(
        store_url(lake.paths.governance_db, url),
        lake_id=lake.identity.lake_id,
        signer=_signer_if_available(lake),
    )
    return lake, store


@contextmanager
def governance(lake_root: Path) -> Iterator[tuple[Lake, GovernanceStore]]:
    lake, store = open_governance(lake_root)
    try:
        yield lake, store
    finally:
        store.close()


def init_governance(lake: Lake) -> Path:
    """Create (or upgrade) a new lake's store and its audit signing key; audit the init.

    Called by ``bmb init``. Returns the signing key's path (outside the lake).
    """
    from bmb.governance.signing import create_key, default_key_path

    key_path = default_key_path(lake.identity.lake_id)
    signer = create_key(key_path) if not key_path.exists() else None
    store = open_store(
        store_url(lake.paths.governance_db),
        lake_id=lake.identity.lake_id,
        signer=signer or _signer_if_available(lake),
    )
    try:
        with store.transaction() as tx:
            append(
                tx,
                store,
                actor=Actor.system(os_login()),
                action="lake.init",
                target=f"lake:{lake.identity.lake_id}",
                details={"region": lake.identity.region, "snapshot": lake.current().label()},
            )
    finally:
        store.close()
    return key_path


# -- acting users -------------------------------------------------------------------------


def authenticate(store: GovernanceStore, name: str | None, *, interactive: bool) -> Actor:
    """The acting user: ``name`` (or ``$BMB_USER``) proved by ``$BMB_TOKEN`` or a password."""
    from bmb.governance.users import authenticate_password, authenticate_token

    who = name or os.environ.get("BMB_USER")
    token = os.environ.get("BMB_TOKEN")
    if token:
        return authenticate_token(store, token, name=who)
    if not who:
        raise UsageError("who is acting? pass --as USER or set BMB_USER (and BMB_TOKEN)")
    if not interactive:
        raise UsageError(
            f"no credentials for {who}",
            hint="set BMB_TOKEN to a token from 'bmb user token', or run on a terminal",
        )
    password = getpass.getpass(f"BMB password for {who}: ")
    return authenticate_password(store, who, password)


def lake_gate(lake_root: Path, action: Action, target: str) -> Actor:
    """Who runs a lake command (``bmb ingest``, ``bmb sql``), refused if they may not.

    A lake with no BMB users yet is not governed: the operating-system account that runs
    the command acts, and is audited as such. Once the first user exists, these commands
    need a user whose role allows them (``$BMB_USER`` and ``$BMB_TOKEN``).
    """
    from bmb.governance.access import require, user_count

    with governance(lake_root) as (_, store):
        if user_count(store) == 0:
            return Actor.system(os_login())
        actor = authenticate(store, None, interactive=False)
        require(store, actor, action, target)
        return actor


@contextmanager
def audited_lake_command(
    lake_root: Path, action: Action, command: str, details: dict[str, Any] | None = None
) -> Iterator[dict[str, Any]]:
    """Gate a whole-lake command (:func:`lake_gate`) and audit how it ended.

    Yields a dict the command may fill with what the trail should keep (snapshots
    written, rows); on exit one entry is appended: ``ok``, or ``failed`` with the error.
    """
    actor = lake_gate(lake_root, action, "lake")
    kept: dict[str, Any] = {"command": command, **(details or {})}
    try:
        yield kept
    except Exception as exc:
        kept["error"] = f"{type(exc).__name__}: {exc}"[:500]
        record(lake_root, actor, action.value, "lake", kept, Outcome.FAILED)
        raise
    record(lake_root, actor, action.value, "lake", kept)


def record(
    lake_root: Path,
    actor: Actor,
    action: str,
    target: str,
    details: dict[str, Any],
    outcome: Outcome = Outcome.OK,
) -> None:
    """Append one event to a lake's audit trail (for commands outside the store)."""
    with governance(lake_root) as (_, store), store.transaction() as tx:
        append(
            tx, store, actor=actor, action=action, target=target, outcome=outcome, details=details
        )


def ingest_details(report: Any) -> dict[str, Any]:
    """What the audit trail keeps about an ingestion run (counts, snapshots, files)."""
    batches = list(getattr(report, "batches", []))
    return {
        "batches": len(batches),
        "records_in": int(getattr(report, "records_in", 0)),
        "records_quarantined": int(getattr(report, "records_quarantined", 0)),
        "snapshots": [int(b.lake_snapshot_id) for b in batches],
        "skipped": [str(p) for p in getattr(report, "skipped", [])],
        "unsupported_resources": dict(getattr(report, "unsupported_resources", {})),
    }


# -- sessions -----------------------------------------------------------------------------


@dataclass
class GovernedSession:
    """An engine session and the governance record it was opened under."""

    session: PermitSession
    session_id: int
    actor: Actor
    store: GovernanceStore
    lake: Lake

    def close(self) -> None:
        from bmb.governance.sessions import close_session

        self.session.close()
        close_session(self.store, actor=self.actor, session_id=self.session_id)

    def __enter__(self) -> GovernedSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_governed_session(
    lake: Lake,
    store: GovernanceStore,
    *,
    actor: Actor,
    permit_id: int,
    key_file: Path | None = None,
    snapshot: int | None = None,
) -> GovernedSession:
    """Open an engine session under a permit, after the store allowed it."""
    from bmb.domain.project_keys import project_key
    from bmb.engines.session import open_session
    from bmb.governance.optout import OptOutRegistry
    from bmb.governance.sessions import open_session as allow_session
    from bmb.governance.sessions import record_query

    snap = lake.snapshot(snapshot)
    grant = allow_session(
        store, actor=actor, permit_id=permit_id, lake_snapshot_id=snap.lake_snapshot_id
    )
    key = project_key(lake.key(key_file), grant.permit.project_id)

    def audit_query(sql: str, rows: int, ok: bool) -> None:
        record_query(store, actor=actor, session_id=grant.session_id, sql=sql, rows=rows, ok=ok)

    session = open_session(
        lake,
        permit=grant.permit,
        project_key=key,
        optouts=OptOutRegistry(store),
        snapshot=snap.lake_snapshot_id,
        on_query=audit_query,
    )
    return GovernedSession(session, grant.session_id, actor, store, lake)


def request_output(
    gs: GovernedSession, output: SessionOutput, *, name: str, description: str = ""
) -> OutputInfo:
    """Write an output to the restricted output area and queue it for review."""
    from bmb.governance.outputs import CellsForDifferencing
    from bmb.governance.outputs import request_output as queue

    suffix = Path(name).suffix.lower()
    if suffix not in OUTPUT_FORMATS:
        raise UsageError(f"output {name}: use a .csv, .parquet or .json name")
    folder = gs.lake.paths.root / OUTPUTS_DIR / uuid.uuid4().hex
    folder.mkdir(parents=True, mode=0o700)
    os.chmod(folder.parent, 0o700)
    safe = folder / f"output{suffix}"
    write_table(output.table, safe)
    report = output.report.to_dict()
    report["sql"] = output.sql
    (folder / "report.json").write_text(json.dumps(report, indent=1, default=str), "utf-8")
    cells = (
        CellsForDifferencing(output.cells_signature, output.cells)
        if output.cells is not None and output.cells_signature is not None
        else None
    )
    try:
        return queue(
            gs.store,
            actor=gs.actor,
            permit_id=gs.session.permit.permit_id,
            session_id=gs.session_id,
            kind=output.kind.value,
            name=Path(name).name,
            location=str(folder.relative_to(gs.lake.paths.root)),
            safe_sha256=sha256_file(safe),
            report=report,
            sketch=output.sketch,
            cells=cells,
            epsilon=output.epsilon,
            description=description,
        )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def check_budget(gs: GovernedSession) -> None:
    """Refuse early when a DP output would exceed the permit's privacy budget."""
    from bmb.governance.outputs import budget_status

    eps = gs.session.permit.policy.dp_epsilon
    if eps is None:
        return
    budget, spent = budget_status(gs.store, gs.session.permit.permit_id)
    if budget is None or spent + eps > budget + 1e-12:
        left = 0.0 if budget is None else budget - spent
        raise BmbError(
            f"privacy budget of permit {gs.session.permit.permit_id} exhausted: "
            f"{eps} needed, {left:.4g} left"
        )


def output_path(lake: Lake, info: OutputInfo) -> Path:
    folder = (lake.paths.root / info.location).resolve()
    if not folder.is_relative_to((lake.paths.root / OUTPUTS_DIR).resolve()):
        raise BmbError(f"output {info.id} points outside the output area")
    files = [p for p in folder.iterdir() if p.name.startswith("output.")]
    if len(files) != 1:
        raise BmbError(f"output {info.id}: its file is missing from {folder}")
    return files[0]


def deliver(lake: Lake, info: OutputInfo, out: Path) -> Path:
    """Copy a released output to ``out`` after checking it is the file reviewed."""
    src = output_path(lake, info)
    if sha256_file(src) != info.safe_sha256:
        raise BmbError(
            f"output {info.id} changed since it was reviewed (SHA-256 differs); not delivered"
        )
    if out.suffix.lower() != src.suffix.lower():
        raise UsageError(f"output {info.id} is a {src.suffix} file; name --out accordingly")
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, out)
    return out


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_table(table: pa.Table, out: Path) -> None:
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    suffix = out.suffix.lower()
    if suffix == ".csv":
        pcsv.write_csv(table, out)
    elif suffix == ".parquet":
        pq.write_table(table, out)
    elif suffix == ".json":
        out.write_text(json.dumps(table.to_pylist(), default=str, indent=1), encoding="utf-8")
    else:
        raise UsageError(f"cannot write {out}: use .csv, .parquet or .json")


def read_output(path: Path) -> pa.Table:
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    if path.suffix == ".csv":
        return pcsv.read_csv(path)
    if path.suffix == ".parquet":
        return pq.read_table(path)
    return pa.Table.from_pylist(json.loads(path.read_text("utf-8")))


# -- transparency -------------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectUse:
    """One project that had a person's data in scope, as the citizen sees it."""

    project_id: str
    title: str
    applicant: str
    permit_id: int
    purpose: str
    purpose_article: str
    form: str
    starts: str
    expires: str
    first_session: str
    last_session: str
    sessions: int

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def transparency(lake: Lake, store: GovernanceStore, person_id: int) -> list[ProjectUse]:
    """Projects whose sessions had this person in scope (permit, purpose, dates).

    A permit counts when at least one of its sessions read a lake snapshot in which the
    person was present and in the permit's population, and the person had not opted out
    when the session opened.
    """
    from bmb.engines.session import in_population
    from bmb.governance.optout import person_history
    from bmb.governance.permits import all_permits
    from bmb.governance.schema import ProjectRow
    from bmb.governance.sessions import sessions_of

    events = person_history(store, person_id)

    def opted_out_at(moment: datetime) -> bool:
        state = False
        for e in events:
            if _aware(e.at) <= _aware(moment):
                state = e.opted_out
        return state

    with store.transaction() as tx:
        permits = all_permits(tx)
        projects = {p.id: p for p in tx.query(ProjectRow).all()}
    out: list[ProjectUse] = []
    membership: dict[tuple[int, int], bool] = {}
    for permit in permits:
        used = []
        for s in sessions_of(store, permit.permit_id):
            key = (permit.permit_id, s.lake_snapshot_id)
            if key not in membership:
                membership[key] = in_population(
                    lake,
                    snapshot_id=s.lake_snapshot_id,
                    population=permit.population,
                    person_id=person_id,
                )
            if membership[key] and not opted_out_at(s.opened_at):
                used.append(s)
        if not used:
            continue
        project = projects.get(permit.project_id)
        out.append(
            ProjectUse(
                project_id=permit.project_id,
                title=project.title if project else "",
                applicant=project.applicant if project else "",
                permit_id=permit.permit_id,
                purpose=permit.purpose.value,
                purpose_article=permit.purpose.article,
                form=permit.form.value,
                starts=permit.starts.isoformat(),
                expires=permit.expires.isoformat(),
                first_session=_aware(used[0].opened_at).date().isoformat(),
                last_session=_aware(used[-1].opened_at).date().isoformat(),
                sessions=len(used),
            )
        )
    return out


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
