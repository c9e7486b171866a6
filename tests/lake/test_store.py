"""Creating and opening a lake; the key outside it; snapshots and recovery."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pyarrow as pa
import pytest

from bmb.domain.errors import KeyMismatchError, UsageError
from bmb.lake.store import BatchRecord, Lake, TableWrite, all_tables, new_batch_id


@pytest.fixture
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    monkeypatch.delenv("BMB_KEY_FILE", raising=False)
    return home


def test_create_makes_every_table_and_a_key_outside_the_lake(
    tmp_path: Path, config_home: Path
) -> None:
    lake, key_path = Lake.create(tmp_path / "lake")
    assert key_path.is_relative_to(config_home)
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "lake" / "landing").stat().st_mode) == 0o700
    cut = lake.current()
    assert cut.lake_snapshot_id == 0
    assert set(cut.table_snapshots) == set(all_tables()) - {"bmb.ingestion_ledger"}
    assert len([t for t in all_tables() if t.startswith("cdm.")]) == 39
    assert len(lake.key()) == 32


def test_create_refuses_an_existing_lake(tmp_path: Path, config_home: Path) -> None:
    Lake.create(tmp_path / "lake")
    with pytest.raises(UsageError, match="already a BMB lake"):
        Lake.create(tmp_path / "lake")


def test_key_inside_the_lake_is_refused(tmp_path: Path, config_home: Path) -> None:
    with pytest.raises(KeyMismatchError, match="inside the lake"):
        Lake.create(tmp_path / "lake", key_file=tmp_path / "lake" / "k.key")


def test_missing_or_foreign_key_is_refused(tmp_path: Path, config_home: Path) -> None:
    lake, key_path = Lake.create(tmp_path / "lake")
    _other, other_key = Lake.create(tmp_path / "other")
    with pytest.raises(KeyMismatchError, match="not this lake's key"):
        lake.key(other_key)
    key_path.unlink()
    with pytest.raises(KeyMismatchError, match="never makes a new key"):
        lake.key()


def test_key_readable_by_others_is_refused(tmp_path: Path, config_home: Path) -> None:
    lake, key_path = Lake.create(tmp_path / "lake")
    os.chmod(key_path, 0o644)
    with pytest.raises(KeyMismatchError, match="readable by others"):
        lake.key()


def _write_person_file(lake: Lake, batch: str, ids: list[int]) -> Path:
    import pyarrow.parquet as pq

    from bmb.domain.cdm import CDM_TABLES
    from bmb.lake.schema import arrow_schema

    schema = arrow_schema(CDM_TABLES["person"])
    cols = {f.name: [None] * len(ids) for f in schema}
    cols["person_id"] = ids
    path = lake.data_dir("cdm.person", batch) / "part-0.parquet"
    pq.write_table(pa.Table.from_pydict(cols, schema=schema), path)
    return path


def test_commit_moves_the_cut_and_recover_undoes_an_unrecorded_write(
    tmp_path: Path, config_home: Path
) -> None:
    from datetime import UTC, datetime

    lake, _ = Lake.create(tmp_path / "lake")
    batch = new_batch_id()
    path = _write_person_file(lake, batch, [1, 2, 3])
    snap = lake.commit(
        BatchRecord(batch, "ingest", datetime.now(UTC)),
        [TableWrite("cdm.person", [path], rows=3)],
    )
    assert snap.lake_snapshot_id == 1
    assert lake.data_files("cdm.person") == [str(path)]
    # a crash after a table commit but before the ledger row: the table moved alone
    stray = _write_person_file(lake, "crashed", [4])
    lake.table("cdm.person").add_files([str(stray)])
    assert lake.data_files("cdm.person") == [str(path)]  # readers still see the cut
    assert lake.recover() == ["cdm.person"]
    current = lake.table("cdm.person").current_snapshot()
    assert current is not None
    assert current.snapshot_id == lake.current().table_snapshots["cdm.person"]
