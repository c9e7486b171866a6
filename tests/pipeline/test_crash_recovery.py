"""SIGKILL during ingestion: the lake stays at a consistent snapshot and a re-run completes.

Ingestion runs in a child process that is killed at random moments. After each kill
the lake must open at its last committed snapshot with every listed data file present,
and re-running the same ingestion must finish with exactly the rows of an ingestion
that was never interrupted (ids are derived from source keys, so the rows are equal).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bmb.engines.lake import open_lake
from bmb.lake.store import Lake
from bmb.pipeline.bootstrap import bootstrap
from bmb.pipeline.ingest import ingest
from bmb.synth.generator import SynthOptions, generate
from tests.pipeline.fingerprint import fingerprint

TABLES = (
    "person",
    "observation_period",
    "visit_occurrence",
    "visit_detail",
    "condition_occurrence",
    "procedure_occurrence",
    "drug_exposure",
    "measurement",
    "observation",
    "death",
    "provider",
    "care_site",
)

CHILD = """
import sys
from pathlib import Path
from bmb.pipeline.ingest import ingest
ingest(Path(sys.argv[1]), [Path(sys.argv[2])])
"""


def _new_lake(root: Path) -> None:
    """A lake using the shared key ($BMB_KEY_FILE), so person ids equal across lakes."""
    lake, _ = Lake.create(root, use_existing_key=True)
    bootstrap(lake)


@pytest.mark.slow
def test_sigkill_at_random_points_leaves_a_consistent_lake_and_rerun_completes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    key = tmp_path / "shared.key"
    key.write_text(os.urandom(32).hex())
    key.chmod(0o600)
    monkeypatch.setenv("BMB_KEY_FILE", str(key))
    region = tmp_path / "region"
    generate(
        SynthOptions(
            persons=800,
            first_year=2024,
            last_year=2024,
            seed=5,
            out=region,
            formats=("flows",),
            error_rate=0.01,
        )
    )
    flows = region / "flows"
    reference = tmp_path / "reference"
    _new_lake(reference)
    t0 = time.perf_counter()
    ingest(reference, [flows])
    clean_seconds = time.perf_counter() - t0
    expected = fingerprint(reference, TABLES)
    assert expected["drug_exposure"][0] > 0

    rng = random.Random(2024)
    kills = 0
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config"), "BMB_KEY_FILE": str(key)}
    for trial in range(3):
        root = tmp_path / f"lake{trial}"
        _new_lake(root)
        killed_after = rng.uniform(0.3, 0.9) * clean_seconds + 1.0
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(root), str(flows)], env=env)
        try:
            child.wait(timeout=killed_after)
        except subprocess.TimeoutExpired:
            child.send_signal(signal.SIGKILL)
            child.wait()
            kills += 1
        lake = Lake.open(root)
        cut = lake.current()
        for qname in cut.table_snapshots:
            for f in lake.data_files(qname, cut):
                assert Path(f).is_file(), f"snapshot {cut.lake_snapshot_id} lists a missing file"
        with open_lake(root) as e:  # every batch in the ledger is whole
            e.query("SELECT count(*) FROM person")
        ingest(root, [flows])
        assert fingerprint(root, TABLES) == expected, (
            f"trial {trial} killed after {killed_after:.1f}s"
        )
    assert kills >= 2, "the child finished before the kill: the test did not test a crash"
