"""The lake: an Iceberg catalog in SQLite, the CDM and BMB tables, batches and snapshots.

Tables live in three namespaces: ``cdm`` (the 39 OMOP CDM v5.4 tables), ``bmb``
(ledger, pseudonym registry, local concepts) and ``landing`` (quarantine and the
landed-file registry; their data files sit under the restricted ``landing/`` folder).
Data files are Parquet with zstd, written by the pipeline and added to the tables
without rewriting (copy-on-write, no delete files), so any engine can read a snapshot
from its list of live data files.
"""

from __future__ import annotations

import fcntl
import json
import os
import uuid
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from bmb._version import __version__
from bmb.domain.cdm import BMB_TABLES, CDM_TABLES, CdmTable
from bmb.domain.errors import BmbError, UsageError
from bmb.lake import keys
from bmb.lake.paths import LakeIdentity, LakePaths, read_identity
from bmb.lake.schema import arrow_schema
from bmb.lake.snapshots import LakeSnapshot

if TYPE_CHECKING:
    from pyiceberg.catalog.sql import SqlCatalog
    from pyiceberg.table import Table

NAMESPACES = ("cdm", "bmb", "landing", "derived")
LEDGER = "bmb.ingestion_ledger"


def table_namespace(table: CdmTable) -> str:
    """The namespace a declared table lives in."""
    if table.schema == "LANDING":
        return "landing"
    if table.schema == "BMB":
        return "bmb"
    return "cdm"


def all_tables() -> dict[str, CdmTable]:
    """Every table a lake has, by qualified name (``cdm.person``, ``bmb.ingestion_ledger``)."""
    out = {f"cdm.{name}": t for name, t in CDM_TABLES.items()}
    out.update({f"{table_namespace(t)}.{name}": t for name, t in BMB_TABLES.items()})
    return out


@dataclass
class TableWrite:
    """New data files for one table in a batch, and optionally rows they replace."""

    table: str  # qualified name
    files: list[Path] = field(default_factory=list)
    rows: int = 0
    replace_all: bool = False  # the files are the table's complete new content
    replace_column: str | None = None  # rows whose value in this column ...
    replace_values: list[int] = field(default_factory=list)  # ... is one of these are replaced


@dataclass
class BatchRecord:
    """What the ledger keeps about a batch besides the table snapshots."""

    batch_id: str
    kind: str
    started_at: datetime
    files: list[dict[str, Any]] = field(default_factory=list)
    records_in: int = 0
    records_quarantined: int = 0
    records_control: int = 0
    rows_out: dict[str, int] = field(default_factory=dict)
    quarantined_by_reason: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    note: str = ""


def new_batch_id() -> str:
    return str(uuid.uuid4())


class Lake:
    """An open lake. Create one with :meth:`create`, open one with :meth:`open`."""

    def __init__(self, paths: LakePaths, identity: LakeIdentity, catalog: SqlCatalog) -> None:
        self.paths = paths
        self.identity = identity
        self.catalog = catalog
        self._current: LakeSnapshot | None = None  # cached; this process is the only writer

    # -- creation and opening ---------------------------------------------------------

    @classmethod
    def create(
        cls,
        root: Path,
        *,
        region: str = "liguria",
        key_file: Path | None = None,
        use_existing_key: bool = False,
    ) -> tuple[Lake, Path]:
        """Create an empty lake with every table; return it and the key file's path."""
        paths = LakePaths(root)
        if paths.exists():
            raise UsageError(f"{root} is already a BMB lake", hint="use it, or pick another DIR")
        if root.exists() and any(root.iterdir()):
            raise UsageError(f"{root} exists and is not empty", hint="pick an empty or new DIR")
        lake_id = uuid.uuid4().hex[:12]
        key_path = keys.resolve_key_path(lake_id, key_file)
        root.mkdir(parents=True, exist_ok=True)
        key = keys.load_key(key_path) if use_existing_key else keys.create_key(key_path, root)
        from bmb.domain.identity import key_fingerprint

        identity = LakeIdentity(
            lake_id=lake_id,
            key_fingerprint=key_fingerprint(key),
            region=region,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            bmb_version=__version__,
        )
        paths.warehouse.mkdir()
        paths.landing.mkdir(mode=0o700)
        paths.raw.mkdir(mode=0o700)
        catalog = _catalog(paths)
        for ns in NAMESPACES:
            catalog.create_namespace(ns)
        lake = cls(paths, identity, catalog)
        snapshots: dict[str, int] = {}
        for qname, decl in all_tables().items():
            location = None
            if qname.startswith("landing."):
                location = (paths.landing / "tables" / decl.name).as_uri()
            tbl = catalog.create_table(
                qname,
                schema=arrow_schema(decl),
                location=location,
                properties={"write.parquet.compression-codec": "zstd", "format-version": "2"},
            )
            if qname != LEDGER:
                tbl.append(arrow_schema(decl).empty_table())
                snap = tbl.current_snapshot()
                assert snap is not None
                snapshots[qname] = snap.snapshot_id
        record = BatchRecord(new_batch_id(), "init", datetime.now(UTC))
        lake._append_ledger(record, snapshots)
        paths.identity.write_text(identity.to_json(), encoding="utf-8")
        return lake, key_path

    @classmethod
    def open(cls, root: Path) -> Lake:
        paths = LakePaths(root)
        identity = read_identity(paths)
        return cls(paths, identity, _catalog(paths))

    def key(self, key_file: Path | None = None) -> bytes:
        """Load this lake's key, refusing a missing key or another lake's key."""
        path = keys.resolve_key_path(self.identity.lake_id, key_file)
        key = keys.load_key(path)
        keys.check_key(key, self.identity.key_fingerprint, path)
        return key

    # -- reading ----------------------------------------------------------------------

    def table(self, qname: str) -> Table:
        return self.catalog.load_table(qname)

    def snapshots(self) -> list[LakeSnapshot]:
        """Every committed lake snapshot, oldest first."""
        ledger = self.table(LEDGER)
        rows = ledger.scan().to_arrow().sort_by("lake_snapshot_id").to_pylist()
        return [LakeSnapshot.from_row(r) for r in rows]

    def ledger_rows(self) -> list[dict[str, Any]]:
        ledger = self.table(LEDGER)
        return list(ledger.scan().to_arrow().sort_by("lake_snapshot_id").to_pylist())

    def current(self) -> LakeSnapshot:
        """The latest committed lake snapshot."""
        if self._current is None:
            snaps = self.snapshots()
            if not snaps:
                raise BmbError(f"{self.paths.root}: the lake has no committed snapshot")
            self._current = snaps[-1]
        return self._current

    def snapshot(self, lake_snapshot_id: int | None) -> LakeSnapshot:
        if lake_snapshot_id is None:
            return self.current()
        for s in self.snapshots():
            if s.lake_snapshot_id == lake_snapshot_id:
                return s
        raise UsageError(f"lake snapshot {lake_snapshot_id} does not exist")

    def data_files(self, qname: str, snap: LakeSnapshot | None = None) -> list[str]:
        """Paths of the live data files of a table as of a lake snapshot."""
        snap = snap or self.current()
        sid = snap.table_snapshots.get(qname)
        if sid is None:
            return []
        tbl = self.table(qname)
        return [_local(task.file.file_path) for task in tbl.scan(snapshot_id=sid).plan_files()]

    def all_data_files(self, qname: str) -> list[str]:
        """Live data files of a table at its own latest Iceberg snapshot (the ledger)."""
        tbl = self.table(qname)
        return [_local(task.file.file_path) for task in tbl.scan().plan_files()]

    # -- writing ----------------------------------------------------------------------

    @contextmanager
    def writer_lock(self) -> Iterator[None]:
        """One writer at a time: a second ingestion waits for the first to finish."""
        fd = os.open(self.paths.lock, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._current = None  # another writer may have committed meanwhile
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def recover(self) -> list[str]:
        """Roll back tables that moved past the last committed cut (an interrupted batch).

        Returns the tables rolled back. Their orphaned data files stay on disk,
        unreferenced, until a maintenance run removes them.
        """
        cut = self.current()
        rolled: list[str] = []
        for qname, sid in cut.table_snapshots.items():
            tbl = self.table(qname)
            now = tbl.current_snapshot()
            if now is not None and now.snapshot_id != sid:
                tbl.manage_snapshots().set_current_snapshot(sid).commit()
                rolled.append(qname)
        return rolled

    def commit(self, record: BatchRecord, writes: Sequence[TableWrite]) -> LakeSnapshot:
        """Commit a batch: add each table's files, then record the cut in the ledger."""
        cut = dict(self.current().table_snapshots)
        props = {"bmb.batch_id": record.batch_id, "bmb.version": __version__}
        for w in writes:
            if not w.files and not w.replace_all:
                continue
            tbl = self.table(w.table)
            paths = [str(p) for p in w.files]
            if w.replace_all or w.replace_values:
                with warnings.catch_warnings():  # "delete matched no records" is fine here
                    warnings.simplefilter("ignore", UserWarning)
                    with tbl.transaction() as tx:
                        tx.delete(_delete_filter(w), snapshot_properties=props)
                        if paths:
                            tx.add_files(paths, snapshot_properties=props)
            else:
                tbl.add_files(paths, snapshot_properties=props)
            snap = tbl.current_snapshot()
            assert snap is not None
            cut[w.table] = snap.snapshot_id
        self._append_ledger(record, cut)
        return self.current()

    def _append_ledger(self, record: BatchRecord, cut: Mapping[str, int]) -> None:
        ledger = self.table(LEDGER)
        if self._current is not None:
            next_id = self._current.lake_snapshot_id + 1
        else:
            previous = ledger.scan(selected_fields=("lake_snapshot_id",)).to_arrow()
            next_id = (
                0
                if previous.num_rows == 0
                else int(pa.compute.max(previous["lake_snapshot_id"]).as_py()) + 1
            )
        row = {
            "lake_snapshot_id": next_id,
            "batch_id": record.batch_id,
            "kind": record.kind,
            "status": "committed",
            "started_at": record.started_at.replace(tzinfo=None),
            "finished_at": datetime.now(UTC).replace(tzinfo=None),
            "bmb_version": __version__,
            "files": json.dumps(record.files),
            "records_in": record.records_in,
            "records_quarantined": record.records_quarantined,
            "records_control": record.records_control,
            "rows_out": json.dumps(record.rows_out),
            "quarantined_by_reason": json.dumps(record.quarantined_by_reason),
            "table_snapshots": json.dumps(dict(cut)),
            "timings": json.dumps(record.timings),
            "note": record.note,
        }
        schema = arrow_schema(BMB_TABLES["ingestion_ledger"])
        ledger.append(pa.Table.from_pylist([row], schema=schema))
        self._current = LakeSnapshot.from_row(row)

    def write_derived(
        self, name: str, table: pa.Table, *, note: str = "", batch_id: str | None = None
    ) -> LakeSnapshot:
        """Replace derived table ``derived.<name>`` with ``table`` and commit a snapshot.

        Derived tables hold what analytics compute from the CDM (registries, scores,
        strata). The table is created on first write with the Arrow schema given; a
        later write must keep that schema. Like every batch, the write is one lake
        snapshot recorded in the ledger.
        """
        import pyarrow.parquet as pq

        if not name.isidentifier():
            raise UsageError(f"derived table name {name!r} is not an identifier")
        qname = f"derived.{name}"
        if not self.catalog.table_exists(qname):
            self.catalog.create_table(
                qname,
                schema=table.schema,
                properties={"write.parquet.compression-codec": "zstd", "format-version": "2"},
            )
        batch = batch_id or new_batch_id()
        path = self.data_dir(qname, batch) / "part-0.parquet"
        pq.write_table(table, path, compression="zstd")
        record = BatchRecord(batch, "derived", datetime.now(UTC), note=note or qname)
        record.rows_out = {qname: table.num_rows}
        return self.commit(record, [TableWrite(qname, [path], table.num_rows, replace_all=True)])

    def derived_tables(self) -> list[str]:
        """Names of the derived tables (without the namespace)."""
        return sorted(ident[-1] for ident in self.catalog.list_tables("derived"))

    def data_dir(self, qname: str, batch_id: str) -> Path:
        """Where a batch writes a table's new data files (inside the table's location)."""
        tbl = self.table(qname)
        base = Path(_local(tbl.location())) / "data" / f"batch={batch_id}"
        base.mkdir(parents=True, exist_ok=True)
        return base


def _delete_filter(w: TableWrite) -> Any:
    from pyiceberg.expressions import AlwaysTrue, In

    if w.replace_all:
        return AlwaysTrue()
    assert w.replace_column is not None
    values = set(w.replace_values)
    return In(w.replace_column, values)  # type: ignore[call-arg, arg-type]


def _catalog(paths: LakePaths) -> SqlCatalog:
    from pyiceberg.catalog.sql import SqlCatalog

    return SqlCatalog(
        "bmb",
        uri=f"sqlite:///{paths.catalog_db.resolve()}",
        warehouse=paths.warehouse.resolve().as_uri(),
    )


def _local(uri: str) -> str:
    return uri[len("file://") :] if uri.startswith("file://") else uri
