"""Every emitted file follows its layout, identifiers validate, links hold."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from codicefiscale import codicefiscale as cf

from bmb.domain.flows import LAYOUTS, parse_file_name
from bmb.synth.generator import SynthSummary
from tests.synth.flowparse import check, split


def _flow_files(out: Path) -> list[Path]:
    return sorted((out / "flows").rglob("*.txt"))


def test_every_flow_file_parses_back_field_by_field(region_dir: tuple[Path, SynthSummary]) -> None:
    out, _ = region_dir
    files = _flow_files(out)
    assert {parse_file_name(p.name)[0].name for p in files} == set(LAYOUTS)  # type: ignore[index]
    for path in files:
        parsed = parse_file_name(path.name)
        assert parsed is not None
        layout = parsed[0]
        text = path.read_bytes().decode("utf-8")
        assert text.isascii()
        assert text.endswith("\n")
        for i, line in enumerate(text.splitlines(), start=1):
            problems = check(layout, line)
            assert not problems, f"{path.name}:{i}: {problems}"


def test_fiscal_codes_validate(region_dir: tuple[Path, SynthSummary]) -> None:
    out, _ = region_dir
    kinds: Counter[str] = Counter()
    for path in sorted((out / "flows" / "registry").glob("*.txt")):
        for line in path.read_text().splitlines():
            rec = split(LAYOUTS["registry"], line)
            code, kind = rec["codice_fiscale"], rec["tipo_identificativo"]
            kinds[kind] += 1
            if kind == "0":
                assert cf.is_valid(code), code
            else:
                assert code[:3] in ("STP", "ENI")
                assert len(code) == 16
                assert code[3:6] == "070"
            assert cf.is_valid(rec["cf_medico"]), rec["cf_medico"]
    assert kinds["0"] > 0.98 * sum(kinds.values())
    assert kinds["1"] + kinds["2"] > 0


def test_emergency_admissions_carry_the_sdo_number(region_dir: tuple[Path, SynthSummary]) -> None:
    out, _ = region_dir
    sdo = set()
    for path in (out / "flows" / "sdo").glob("SDO_B_*.txt"):
        for line in path.read_text().splitlines():
            rec = split(LAYOUTS["sdo_b"], line)
            sdo.add((rec["codice_istituto"], rec["numero_sdo"], rec["provenienza"]))
    admitted = 0
    for path in (out / "flows" / "emur").glob("*.txt"):
        for line in path.read_text().splitlines():
            rec = split(LAYOUTS["emur"], line)
            if rec["esito_trattamento"] == "2":
                admitted += 1
                assert (rec["erogatore_codice_istituto"], rec["numero_sdo"], "2") in sdo
            else:
                assert rec["numero_sdo"] == ""
    assert admitted > 0


def test_fhir_is_json_and_patients_are_the_registry_people(
    region_dir: tuple[Path, SynthSummary],
) -> None:
    out, _ = region_dir
    types = {p.stem for p in (out / "fhir").glob("*.ndjson")}
    assert types >= {
        "Patient",
        "Encounter",
        "Condition",
        "Observation",
        "MedicationDispense",
        "Procedure",
    }
    ids = set()
    for rtype in sorted(types):
        for line in (out / "fhir" / f"{rtype}.ndjson").read_text().splitlines():
            res = json.loads(line)
            assert res["resourceType"] == rtype
            if rtype == "Patient":
                ids.add(res["identifier"][0]["value"])
            elif "subject" in res:
                assert res["subject"]["reference"].startswith("Patient/")
    registry = set()
    for path in (out / "flows" / "registry").glob("*.txt"):
        registry |= {
            split(LAYOUTS["registry"], x)["codice_fiscale"] for x in path.read_text().splitlines()
        }
    assert ids == registry


def test_manifest_counts_and_hashes_match_the_files(region_dir: tuple[Path, SynthSummary]) -> None:
    import hashlib

    out, _ = region_dir
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 7
    for f in manifest["files"]:
        data = (out / f["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == f["sha256"]
        if f["kind"] != "truth":
            assert data.count(b"\n") == f["records"], f["path"]


@pytest.mark.parametrize("workers", [1, 2])
def test_same_seed_gives_the_same_bytes(tmp_path: Path, workers: int) -> None:
    from bmb.synth.generator import SynthOptions, generate

    a = generate(SynthOptions(11_000, 2024, 2024, seed=3, out=tmp_path / "a", error_rate=0.01))
    b = generate(
        SynthOptions(
            11_000, 2024, 2024, seed=3, out=tmp_path / "b", error_rate=0.01, workers=workers
        )
    )
    ma = json.loads((a.out / "manifest.json").read_text())["files"]
    mb = json.loads((b.out / "manifest.json").read_text())["files"]
    assert ma == mb
    assert (a.out / "faults.json").read_bytes() == (b.out / "faults.json").read_bytes()


def test_fault_manifest_matches_the_files(faulty_dir: Path) -> None:
    faults = json.loads((faulty_dir / "faults.json").read_text())["faults"]
    assert faults
    kinds = Counter(f["kind"] for f in faults)
    assert set(kinds) == {
        "invalid_fiscal_code",
        "impossible_date",
        "unknown_code",
        "truncated",
        "duplicate",
        "wrong_encoding",
    }
    lines_of: dict[str, list[bytes]] = {}
    for f in faults:
        lines = lines_of.setdefault(f["file"], (faulty_dir / f["file"]).read_bytes().split(b"\n"))
        raw = lines[f["line"] - 1]
        layout = LAYOUTS[f["layout"]]
        if f["kind"] == "duplicate":
            assert raw == lines[f["line"] - 2]
            continue
        if f["kind"] == "wrong_encoding":
            with pytest.raises(UnicodeDecodeError):
                raw.decode("utf-8")
            continue
        line = raw.decode("utf-8")
        if f["kind"] == "truncated":
            with pytest.raises(ValueError, match="!="):
                split(layout, line)
            continue
        value = split(layout, line)[f["field"]].strip()
        if f["kind"] == "invalid_fiscal_code":
            assert not cf.is_valid(value)
        else:
            assert check(layout, line), f
    # Every line not listed is good.
    listed = {(f["file"], f["line"]) for f in faults}
    for rel, lines in lines_of.items():
        layout = parse_file_name(Path(rel).name)[0]  # type: ignore[index]
        for i, raw in enumerate(lines[:-1], start=1):
            if (rel, i) not in listed:
                assert not check(layout, raw.decode("utf-8")), (rel, i)
