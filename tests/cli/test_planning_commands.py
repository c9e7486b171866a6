"""The planning commands through the real CLI, on the shared synthetic region lake.

Commands run in one lake in order, as a steward would: build the registry (with the
truth), stratify, network, indicators, train and score a risk model, the report. Each
writes derived tables to the lake, files where asked, and exits 0; bad usage exits 2
with one line naming the problem.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

from bmb.cli.main import run
from bmb.lake.store import Lake
from tests.region_lake import RegionLake, region_lake

__all__ = ["region_lake"]


def _bmb(*args: str) -> int:
    return run(list(args))


def test_registry_build_writes_prevalence_and_prints_validation(
    region_lake: RegionLake, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "prev.csv"
    code = _bmb(
        "registry",
        "build",
        "--lake",
        str(region_lake.lake),
        "--years",
        "2024-2025",
        "--truth",
        str(region_lake.truth),
        "--out",
        str(out),
        "--plot",
        str(tmp_path / "p.svg"),
    )
    text = capsys.readouterr().out
    assert code == 0
    assert "sensitivity (CI)" in text
    rows = pcsv.read_csv(out)
    assert set(rows.column("year").to_pylist()) == {2024, 2025}
    assert json.loads((tmp_path / "prev.csv.provenance.json").read_text())["bmb.snapshot_id"]
    assert (tmp_path / "p.svg").read_text().lstrip().startswith("<?xml")
    derived = Lake.open(region_lake.lake).derived_tables()
    assert {"registry", "registry_prevalence", "registry_standardized"} <= set(derived)


def test_rules_copy_and_a_bad_rules_file(
    region_lake: RegionLake, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "rules.yaml"
    assert _bmb("registry", "rules", "--out", str(copy)) == 0
    assert "diabetes" in copy.read_text()
    copy.write_text("conditions: {x: {criteria: [{source: mail}]}}")
    code = _bmb(
        "registry", "build", "--lake", str(region_lake.lake), "--rules", str(copy), "--no-save"
    )
    assert code == 1
    assert "rules.yaml: condition x, criterion 1" in capsys.readouterr().err


def test_stratify_network_comorbidity_indicators(region_lake: RegionLake, tmp_path: Path) -> None:
    lake = str(region_lake.lake)
    assert (
        _bmb(
            "stratify",
            "--lake",
            lake,
            "--years",
            "2025",
            "--out",
            str(tmp_path / "s.html"),
            "--plot",
            str(tmp_path / "s.png"),
        )
        == 0
    )
    assert "Kaiser" in (tmp_path / "s.html").read_text()
    assert (
        _bmb(
            "network",
            "--lake",
            lake,
            "--year",
            "2025",
            "--graphml",
            str(tmp_path / "n.graphml"),
            "--out",
            str(tmp_path / "n.parquet"),
        )
        == 0
    )
    assert pq.read_table(tmp_path / "n.parquet").num_rows > 100
    assert (
        _bmb(
            "comorbidity",
            "--lake",
            lake,
            "--years",
            "2025",
            "--out",
            str(tmp_path / "c.parquet"),
            "--no-save",
        )
        == 0
    )
    assert "cci_quan2011" in pq.read_schema(tmp_path / "c.parquet").names
    assert (
        _bmb(
            "indicators",
            "--lake",
            lake,
            "--years",
            "2024-2025",
            "--indicator",
            "ami_30d_mortality",
            "--plot",
            str(tmp_path / "f.svg"),
        )
        == 0
    )
    assert (tmp_path / "f.svg").exists()
    derived = set(Lake.open(region_lake.lake).derived_tables())
    assert {
        "stratification",
        "stratification_kaiser",
        "comorbidity_network",
        "indicators_hospital",
    } <= derived


@pytest.mark.slow
def test_risk_train_card_score_and_report(
    region_lake: RegionLake, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lake = str(region_lake.lake)
    model = tmp_path / "adm"
    assert (
        _bmb(
            "risk",
            "train",
            "--lake",
            lake,
            "--outcome",
            "admission",
            "--train-year",
            "2023",
            "--model",
            str(model),
            "--truth",
            str(region_lake.truth),
        )
        == 0
    )
    assert "true risk: the synthetic generator" in capsys.readouterr().out
    doc = json.loads((model / "model.json").read_text())
    assert doc["extra"]["truth"]["auc"] > doc["validation"]["lightgbm"]["auc_lower"] - 0.2
    assert _bmb("risk", "card", "--model", str(model), "--out", str(tmp_path / "c.md")) == 0
    scores = tmp_path / "scores.parquet"
    assert _bmb("risk", "score", "--lake", lake, "--model", str(model), "--out", str(scores)) == 0
    pid = str(pq.read_table(scores).column("person_id")[0].as_py())
    assert (
        _bmb(
            "risk",
            "score",
            "--lake",
            lake,
            "--model",
            str(model),
            "--person-id",
            pid,
            "--date",
            "2025-06-30",
        )
        == 0
    )
    assert "Reasons" in capsys.readouterr().out
    report = tmp_path / "planning.html"
    assert (
        _bmb(
            "report",
            "planning",
            "--lake",
            lake,
            "--year",
            "2025",
            "--model",
            str(model),
            "--out",
            str(report),
        )
        == 0
    )
    assert "Unplanned hospital admission within 12 months" in report.read_text()


def test_bad_usage_exits_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert _bmb("risk", "train", "--outcome", "sneeze", "--train-year", "2023", "--model", "x") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "sneeze" in err[0]
