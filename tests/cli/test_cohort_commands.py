"""``bmb cohort``, ``characterize``, ``incidence``, ``prevalence`` end to end on Eunomia."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from bmb.analytics.report import read_provenance
from bmb.cli.main import run

GI_BLEED = """
name: GI bleed
concept_sets:
  - {id: 0, name: GI bleed, concepts: [{id: 192671, descendants: true}]}
entry:
  events: [{condition_occurrence: {concept_set: 0, first: true}}]
"""

CELECOXIB = """
name: New users of celecoxib
concept_sets:
  - {id: 0, name: celecoxib, concepts: [{id: 1118084, descendants: true}]}
entry:
  events: [{drug_exposure: {concept_set: 0, first: true}}]
  observation: {before: 365}
exit: {drug_era: {concept_set: 0, gap_days: 30}}
"""


@pytest.fixture
def defs(tmp_path: Path) -> dict[str, Path]:
    out = {}
    for name, text in (("gi_bleed", GI_BLEED), ("celecoxib", CELECOXIB)):
        path = tmp_path / f"{name}.yaml"
        path.write_text(text)
        out[name] = path
    return out


@pytest.fixture
def gibleed_dir(fixtures_dir: Path) -> str:
    return str(fixtures_dir / "eunomia" / "GiBleed_5.3")


@pytest.mark.parametrize(
    "command",
    [["cohort", "run"], ["cohort", "sql"], ["characterize"], ["incidence"], ["prevalence"]],
)
def test_every_command_has_help_with_an_example(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run([*command, "--help"]) == 0
    assert "Example: bmb" in capsys.readouterr().out


def test_cohort_run_writes_rows_with_provenance(
    defs: dict[str, Path], gibleed_dir: str, tmp_path: Path
) -> None:
    out = tmp_path / "gi.parquet"

    code = run(
        ["cohort", "run", str(defs["gi_bleed"]), "--cdm-csv", gibleed_dir, "--out", str(out)]
    )

    assert code == 0
    table = pq.read_table(out)
    assert table.num_rows == 479
    assert table.column_names == [
        "cohort_definition_id",
        "subject_id",
        "cohort_start_date",
        "cohort_end_date",
    ]
    assert read_provenance(out).bmb_version


def test_cohort_run_reads_atlas_json_and_writes_html(
    fixtures_dir: Path, gibleed_dir: str, tmp_path: Path
) -> None:
    atlas = fixtures_dir / "circe" / "phenotype-library" / "77.json"
    out = tmp_path / "report.html"

    assert run(["cohort", "run", str(atlas), "--cdm-csv", gibleed_dir, "--out", str(out)]) == 0

    page = out.read_text()
    assert "Attrition by persons" in page
    assert 'name="bmb.version"' in page


def test_cohort_run_bad_definition_names_file_and_path(
    tmp_path: Path, gibleed_dir: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("entry:\n  events: [{condition_occurrence: {concept_set: 0, colour: red}}]\n")

    code = run(["cohort", "run", str(bad), "--cdm-csv", gibleed_dir])

    assert code == 1
    err = capsys.readouterr().err
    assert "bad.yaml" in err
    assert "entry.events[0].condition_occurrence.colour" in err


def test_cohort_run_without_any_cdm_is_a_usage_error(
    defs: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("BMB_LAKE", str(tmp_path / "no-lake"))

    assert run(["cohort", "run", str(defs["gi_bleed"])]) == 2
    assert "no lake" in capsys.readouterr().err


def test_cohort_sql_prints_postgres_steps(
    defs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["cohort", "sql", str(defs["celecoxib"]), "--dialect", "postgres"]) == 0
    out = capsys.readouterr().out
    assert "CREATE TEMPORARY TABLE bmb_cohort_primary_events" in out
    assert "bmb_cohort_strategy_ends" in out


def test_characterize_writes_table1(
    defs: dict[str, Path], gibleed_dir: str, tmp_path: Path
) -> None:
    out = tmp_path / "t1.csv"

    code = run(
        [
            "characterize",
            str(defs["celecoxib"]),
            str(defs["gi_bleed"]),
            "--cdm-csv",
            gibleed_dir,
            "--out",
            str(out),
        ]
    )

    assert code == 0
    header = out.read_text().splitlines()[0]
    assert "c1_smd" in header
    assert json.loads((tmp_path / "t1.csv.provenance.json").read_text())["bmb.engine"] == "duckdb"


def test_characterize_accepts_cohort_files(
    defs: dict[str, Path], gibleed_dir: str, tmp_path: Path
) -> None:
    rows = tmp_path / "gi.parquet"
    assert (
        run(["cohort", "run", str(defs["gi_bleed"]), "--cdm-csv", gibleed_dir, "--out", str(rows)])
        == 0
    )

    assert (
        run(
            [
                "characterize",
                str(rows),
                "--cdm-csv",
                gibleed_dir,
                "--out",
                str(tmp_path / "t1.html"),
            ]
        )
        == 0
    )
    assert "479 persons" in (tmp_path / "t1.html").read_text()


def test_incidence_and_prevalence_commands(
    defs: dict[str, Path], gibleed_dir: str, tmp_path: Path
) -> None:
    ir = tmp_path / "ir.parquet"
    code = run(
        [
            "incidence",
            "--target",
            str(defs["celecoxib"]),
            "--outcome",
            str(defs["gi_bleed"]),
            "--tar-end",
            "365",
            "--tar-end-anchor",
            "start",
            "--cdm-csv",
            gibleed_dir,
            "--out",
            str(ir),
        ]
    )
    assert code == 0
    overall = [
        r
        for r in pq.read_table(ir).to_pylist()
        if r["age_band"] is None and r["sex_concept_id"] is None and r["calendar_year"] is None
    ]
    assert overall[0]["cases"] > 0

    prev = tmp_path / "prev.json"
    assert (
        run(
            [
                "prevalence",
                "--outcome",
                str(defs["gi_bleed"]),
                "--years",
                "2000-2001",
                "--date",
                "2005-06-01",
                "--cdm-csv",
                gibleed_dir,
                "--out",
                str(prev),
            ]
        )
        == 0
    )
    doc = json.loads(prev.read_text())
    assert doc["provenance"]["bmb.engine"] == "duckdb"
    assert {r["period_start"] for r in doc["rows"]} == {"2000-01-01", "2001-01-01", "2005-06-01"}


def test_bad_period_is_a_usage_error(
    defs: dict[str, Path], gibleed_dir: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        run(
            [
                "prevalence",
                "--outcome",
                str(defs["gi_bleed"]),
                "--period",
                "2020",
                "--cdm-csv",
                gibleed_dir,
            ]
        )
        == 2
    )
    assert "START:END" in capsys.readouterr().err
