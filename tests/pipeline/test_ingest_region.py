"""Ingesting a fault-injected synthetic region: nothing lost, every fault quarantined.

The synthetic region lists every bad record it injected (``faults.json``). Ingestion
must quarantine exactly those, each with a reason matching the fault, plus only the
detail records that a rejected header leaves without a patient (orphans); and per file,
records in = records mapped + control records + records quarantined.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from bmb.engines.lake import open_lake
from bmb.lake import keys
from bmb.lake.store import Lake
from bmb.pipeline.bootstrap import bootstrap
from bmb.pipeline.ingest import IngestReport, ingest
from bmb.synth.generator import SynthOptions, generate
from tests.pipeline.fingerprint import fingerprint

#: Reasons ingestion may give for each kind of fault the generator injects.
EXPECTED_REASONS = {
    "wrong_encoding": {"encoding"},
    "unknown_code": {"unknown_code"},
    "duplicate": {"duplicate"},
    "truncated": {"truncated"},
    "impossible_date": {"invalid_date", "impossible_date"},
    "invalid_fiscal_code": {"invalid_fiscal_code"},
}
#: Header layout of each detail layout: a rejected header orphans its detail line.
HEADER_OF = {"sdo_b": "sdo_a", "pharmacy_d2": "pharmacy_d1", "outpatient_c2": "outpatient_c1"}


@pytest.fixture(scope="module")
def ingested(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, Path, IngestReport, dict[str, object]]:
    base = tmp_path_factory.mktemp("region")
    mp = pytest.MonkeyPatch()
    mp.setenv("XDG_CONFIG_HOME", str(base / "config"))
    region = base / "region"
    generate(
        SynthOptions(
            persons=1500,
            first_year=2024,
            last_year=2024,
            seed=11,
            out=region,
            formats=("flows",),
            error_rate=0.02,
        )
    )
    lake, _ = Lake.create(base / "lake")
    bootstrap(lake)
    report = ingest(base / "lake", [region / "flows"])
    faults = json.loads((region / "faults.json").read_text())
    yield region, base / "lake", report, faults
    mp.undo()


def test_every_injected_fault_is_quarantined_with_its_reason(
    ingested: tuple[Path, Path, IngestReport, dict[str, object]],
) -> None:
    _, lake, _, faults = ingested
    with open_lake(lake, restricted=True) as e:
        rows = e.query(
            "SELECT file_name, line_number, layout, detail, reason FROM landing.quarantine"
        ).to_pylist()
    quarantined = {(r["file_name"], r["line_number"]): r for r in rows}
    listed = faults["faults"]
    assert isinstance(listed, list)
    assert len(listed) > 50
    for fault in listed:
        key = (Path(fault["file"]).name, fault["line"])
        assert key in quarantined, f"fault not quarantined: {fault}"
        row = quarantined[key]
        reasons = {row["reason"]}
        if row["detail"] and row["detail"].startswith("["):
            reasons |= {e["reason"] for e in json.loads(row["detail"])}
        assert reasons & EXPECTED_REASONS[fault["kind"]], (fault, row)


def test_nothing_else_is_quarantined_but_orphans_of_rejected_headers(
    ingested: tuple[Path, Path, IngestReport, dict[str, object]],
) -> None:
    _, lake, _, faults = ingested
    listed = {(Path(f["file"]).name, f["line"]) for f in faults["faults"]}  # type: ignore[attr-defined]
    header_faults = Counter(f["layout"] for f in faults["faults"])  # type: ignore[attr-defined]
    with open_lake(lake, restricted=True) as e:
        rows = e.query(
            "SELECT file_name, line_number, layout, reason, raw_record FROM landing.quarantine"
        )
    orphans: Counter[str] = Counter()
    good_registry = _good_registry_codes(ingested[0], listed)
    for r in rows.to_pylist():
        if (r["file_name"], r["line_number"]) in listed:
            continue
        if r["reason"] == "unknown_person":  # their registry record was a fault
            assert not any(code in r["raw_record"] for code in good_registry), r
            continue
        assert r["reason"] == "orphan", f"quarantined without a fault: {r}"
        orphans[r["layout"]] += 1
    for detail, n in orphans.items():
        assert n <= header_faults[HEADER_OF[detail]]


def _good_registry_codes(region: Path, faulty: set[tuple[str, int]]) -> set[str]:
    """Fiscal codes of the registry records the generator left intact."""
    codes = set()
    for path in (region / "flows" / "registry").glob("*.txt"):
        text = path.read_text(encoding="utf-8", errors="replace")
        for i, line in enumerate(text.splitlines(), start=1):
            if (path.name, i) not in faulty:
                codes.add(line.split(";")[0])
    return codes


def test_records_reconcile_per_file(
    ingested: tuple[Path, Path, IngestReport, dict[str, object]],
) -> None:
    region, lake, report, _ = ingested
    manifest = json.loads((region / "manifest.json").read_text())
    lines_on_disk = {
        Path(f["path"] if "path" in f else f["file"]).name: f["records"]
        for f in manifest["files"]
        if "flows/" in (f.get("path") or f.get("file") or "")
    }
    opened = Lake.open(lake)
    accounted = {}
    for row in opened.ledger_rows():
        for f in json.loads(row["files"] or "[]"):
            assert f["records_in"] == f["mapped"] + f["control"] + f["quarantined"], f
            accounted[f["name"]] = f["records_in"]
    assert accounted == lines_on_disk
    assert report.records_in == sum(lines_on_disk.values())


def test_no_identifier_in_any_parquet_file_outside_landing(
    ingested: tuple[Path, Path, IngestReport, dict[str, object]],
) -> None:
    region, lake, _, _ = ingested
    registry = next((region / "flows" / "registry").glob("*.txt")).read_text(
        encoding="utf-8", errors="replace"
    )
    codes, names = set(), set()
    for line in registry.splitlines():
        parts = line.split(";")
        if len(parts) > 4:
            codes.add(parts[0])
            names.add(parts[2])
    names = {n for n in names if len(n) >= 5}
    assert len(codes) > 1000
    cf_like = re.compile(r"[A-Z]{6}[0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{2}[A-Z][0-9A-Z]{4}")
    scanned = 0
    for path in (lake / "warehouse").rglob("*.parquet"):
        table = pq.read_table(path)
        for column in table.columns:
            if column.type != "string":
                continue
            values = [v for v in column.drop_null().to_pylist() if v]
            text = "\n".join(values)
            assert not set(cf_like.findall(text)) & codes, f"fiscal code in {path}"
            assert not set(values) & names, f"surname in {path}"
        scanned += 1
    assert scanned > 20


def test_the_pure_python_cutter_builds_the_same_lake(
    ingested: tuple[Path, Path, IngestReport, dict[str, object]],
    tmp_path: Path,
) -> None:
    # The compiled cutter (used above) and the reference path must agree on every row
    # written and every record quarantined, faults included.
    region, lake, report, _ = ingested
    key = keys.resolve_key_path(Lake.open(lake).identity.lake_id, None)  # same pseudonyms
    other, _ = Lake.create(tmp_path / "reference", key_file=key, use_existing_key=True)
    bootstrap(other)
    again = ingest(tmp_path / "reference", [region / "flows"], key_file=key, compiled_cutter=False)
    assert again.records_in == report.records_in
    tables = ("person", "visit_occurrence", "drug_exposure", "procedure_occurrence")
    tables += ("condition_occurrence", "observation", "measurement", "death")
    assert fingerprint(tmp_path / "reference", tables) == fingerprint(lake, tables)
    quarantine = "SELECT file_name, line_number, reason, detail FROM landing.quarantine"
    with open_lake(lake, restricted=True) as e:
        compiled = sorted(map(str, e.query(quarantine).to_pylist()))
    with open_lake(tmp_path / "reference", restricted=True) as e:
        reference = sorted(map(str, e.query(quarantine).to_pylist()))
    assert compiled == reference
    assert len(compiled) == report.records_quarantined
