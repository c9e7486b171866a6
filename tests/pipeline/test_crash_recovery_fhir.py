"""SIGKILL during FHIR ingestion: a consistent lake, and a re-run gives the same rows.

Synthea Bundles are ingested in several small batches (so some commit before the
kill and some after); the child is killed at a random moment. The lake must open at
its last committed snapshot, and the re-run must end with exactly the rows of an
ingestion never interrupted: row ids derive from logical ids, references across the
batches resolve through ``bmb.fhir_key`` whichever batch committed first.
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

from bmb.lake.store import Lake
from bmb.pipeline.bootstrap import bootstrap
from bmb.pipeline.ingest import ingest
from tests.pipeline.fingerprint import fingerprint

TABLES = (
    "person",
    "observation_period",
    "visit_occurrence",
    "condition_occurrence",
    "procedure_occurrence",
    "drug_exposure",
    "measurement",
    "observation",
    "death",
    "provider",
    "care_site",
    "concept",
)
BATCH_BYTES = 400_000

CHILD = f"""
import sys
from pathlib import Path
from bmb.pipeline.ingest import ingest
ingest(Path(sys.argv[1]), [Path(sys.argv[2])], batch_bytes={BATCH_BYTES})
"""


@pytest.mark.slow
def test_sigkill_during_fhir_batches_then_rerun_gives_the_uninterrupted_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fixtures_dir: Path
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    key = tmp_path / "shared.key"
    key.write_text(os.urandom(32).hex())
    key.chmod(0o600)
    monkeypatch.setenv("BMB_KEY_FILE", str(key))
    bundles = tmp_path / "bundles"
    bundles.mkdir()
    for path in sorted((fixtures_dir / "synthea-fhir-r4").glob("*.json.gz"))[:30]:
        (bundles / path.name).write_bytes(path.read_bytes())
    reference = tmp_path / "reference"
    bootstrap(Lake.create(reference, use_existing_key=True)[0])
    t0 = time.perf_counter()
    report = ingest(reference, [bundles], batch_bytes=BATCH_BYTES)
    clean_seconds = time.perf_counter() - t0
    assert len(report.batches) >= 3
    expected = fingerprint(reference, TABLES)

    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config"), "BMB_KEY_FILE": str(key)}
    rng = random.Random(17)
    kills = 0
    for trial in range(2):
        root = tmp_path / f"lake{trial}"
        bootstrap(Lake.create(root, use_existing_key=True)[0])
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(root), str(bundles)], env=env)
        try:
            child.wait(timeout=rng.uniform(0.4, 0.9) * clean_seconds + 2.0)
        except subprocess.TimeoutExpired:
            child.send_signal(signal.SIGKILL)
            child.wait()
            kills += 1
        lake = Lake.open(root)
        cut = lake.current()
        for qname in cut.table_snapshots:
            for f in lake.data_files(qname, cut):
                assert Path(f).is_file(), f"snapshot {cut.lake_snapshot_id} lists a missing file"
        ingest(root, [bundles], batch_bytes=BATCH_BYTES)
        assert fingerprint(root, TABLES) == expected, f"trial {trial}"
    assert kills >= 1, "the child finished before the kill: the test did not test a crash"
