"""Every emitted file follows its layout, identifiers validate, links hold."""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from pathlib import Path

import pytest
from codicefiscale import codicefiscale as cf

from bmb.domain.flows import LAYOUTS, parse_file_name
from bmb.synth import population
from bmb.synth.generator import SynthOptions, generate
from tests.synth.conftest import Region
from tests.synth.flowparse import check, problems, split


def test_every_layout_is_written(region: Region) -> None:
    names = {parse_file_name(p.name)[0].name for p in (region.out / "flows").rglob("*.txt")}  # type: ignore[index]
    assert names == set(LAYOUTS)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_every_record_parses_back_field_by_field(region: Region, layout: str) -> None:
    for path in region.files(layout):
        data = path.read_bytes()
        assert data.isascii(), path.name
        assert data.endswith(b"\n"), path.name
    table = region.table(layout)  # raises on a line of the wrong shape
    assert len(table) > 0
    assert problems(LAYOUTS[layout], table) == []


def test_line_checker_agrees_on_a_sample(region: Region) -> None:
    # The table checker above is fast; this slower line-by-line one is the reference.
    rnd = random.Random(1)
    for layout in sorted(LAYOUTS):
        for path in region.files(layout)[:2]:
            lines = path.read_text().splitlines()
            for line in rnd.sample(lines, min(40, len(lines))):
                assert check(LAYOUTS[layout], line) == [], (path.name, line)


def test_patient_fiscal_codes_are_valid(region: Region) -> None:
    t = region.table("registry")
    kinds = Counter(t["tipo_identificativo"].to_pylist())
    pairs = set(
        zip(t["codice_fiscale"].to_pylist(), t["tipo_identificativo"].to_pylist(), strict=True)
    )
    codes = sorted(c for c, k in pairs if k == "0")
    for code in codes:
        assert cf.CODICEFISCALE_RE.match(code), code
        assert code[15] == cf.encode_cin(code[:15]), code
    for code in random.Random(2).sample(codes, 300):
        assert cf.is_valid(code), code
    for code in sorted(c for c, k in pairs if k != "0"):
        assert code[:3] in ("STP", "ENI"), code
        assert code[3:6] == "070", code
        assert len(code) == 16, code
    assert kinds["0"] > 0.98 * sum(kinds.values())
    assert kinds["1"] + kinds["2"] > 0


def test_doctor_fiscal_codes_are_valid(region: Region) -> None:
    doctors = set(region.table("registry")["cf_medico"].to_pylist())
    doctors |= set(region.table("exemptions")["cf_medico_certificatore"].to_pylist())
    for code in sorted(doctors):
        assert code[15] == cf.encode_cin(code[:15]), code
    for code in sorted(doctors)[:100]:
        assert cf.is_valid(code), code


def test_emergency_admissions_carry_the_sdo_number(region: Region) -> None:
    b = region.table("sdo_b")
    sdo = set(
        zip(
            b["codice_istituto"].to_pylist(),
            b["numero_sdo"].to_pylist(),
            b["provenienza"].to_pylist(),
            strict=True,
        )
    )
    e = region.table("emur")
    admitted = 0
    for site, outcome, numero in zip(
        e["erogatore_codice_istituto"].to_pylist(),
        e["esito_trattamento"].to_pylist(),
        e["numero_sdo"].to_pylist(),
        strict=True,
    ):
        if outcome == "2":
            admitted += 1
            assert (site, numero, "2") in sdo
        else:
            assert numero == ""
    assert admitted > 0


def test_newborns_carry_their_mothers_sdo_number(region: Region) -> None:
    a = region.table("sdo_a")
    b = region.table("sdo_b")
    stays = set(zip(b["codice_istituto"].to_pylist(), b["numero_sdo"].to_pylist(), strict=True))
    dx = dict(
        zip(
            zip(b["codice_istituto"].to_pylist(), b["numero_sdo"].to_pylist(), strict=True),
            b["diagnosi_principale"].to_pylist(),
            strict=True,
        )
    )
    mothers = [
        (site, m)
        for site, m in zip(
            a["codice_istituto"].to_pylist(), a["numero_sdo_madre"].to_pylist(), strict=True
        )
        if m
    ]
    assert mothers
    for site, m in mothers:
        assert (site, m) in stays
        assert dx[(site, m)] in ("650", "65421")


def test_fhir_is_json_and_patients_are_the_registry_people(region: Region) -> None:
    out = region.out
    types = {p.stem for p in (out / "fhir").glob("*.ndjson")}
    assert types >= {
        "Patient",
        "Encounter",
        "Condition",
        "Observation",
        "MedicationDispense",
        "Procedure",
    }
    for rtype in sorted(types):
        path = out / "fhir" / f"{rtype}.ndjson"
        table = region.fhir(rtype)  # fails on a line that is not JSON
        assert set(table["resourceType"].to_pylist()) == {rtype}
        if "subject" in table.column_names:
            refs = table["subject"].combine_chunks().field("reference").to_pylist()
            assert all(r.startswith("Patient/") for r in refs)
        with path.open() as f:
            for _, line in zip(range(200), f, strict=False):
                assert json.loads(line)["resourceType"] == rtype
    patients = region.fhir("Patient")
    ids = {i[0]["value"] for i in patients["identifier"].to_pylist()}
    assert ids == set(region.table("registry")["codice_fiscale"].to_pylist())


def test_fhir_references_resolve(region: Region) -> None:
    patients = set(region.fhir("Patient")["id"].to_pylist())
    encounters = set(region.fhir("Encounter")["id"].to_pylist())
    for rtype in ("Encounter", "Condition", "Observation", "MedicationDispense", "Procedure"):
        t = region.fhir(rtype)
        subj = {
            r.removeprefix("Patient/")
            for r in t["subject"].combine_chunks().field("reference").to_pylist()
        }
        assert subj <= patients, rtype
        if "encounter" in t.column_names:
            enc = t["encounter"].combine_chunks().field("reference").to_pylist()
            assert {r.removeprefix("Encounter/") for r in enc if r} <= encounters, rtype


def test_manifest_counts_and_hashes_match_the_files(region: Region) -> None:
    manifest = json.loads((region.out / "manifest.json").read_text())
    assert manifest["seed"] == 7
    on_disk = {
        p.relative_to(region.out).as_posix()
        for p in region.out.rglob("*")
        if p.is_file() and p.name not in ("manifest.json", "faults.json")
    }
    assert {f["path"] for f in manifest["files"]} == on_disk
    for f in manifest["files"]:
        data = (region.out / f["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == f["sha256"]
        if f["kind"] != "truth":
            assert data.count(b"\n") == f["records"], f["path"]


def test_same_seed_gives_the_same_bytes_whatever_the_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Smaller chunks than the real 5,000, so that two workers share a small region.
    monkeypatch.setattr(population, "CHUNK", 1_500)
    opts = {"persons": 3_600, "first_year": 2024, "last_year": 2025, "seed": 3}
    a = generate(SynthOptions(**opts, out=tmp_path / "a", error_rate=0.01))  # type: ignore[arg-type]
    b = generate(SynthOptions(**opts, out=tmp_path / "b", error_rate=0.01, workers=2))  # type: ignore[arg-type]
    ma = json.loads((a.out / "manifest.json").read_text())
    mb = json.loads((b.out / "manifest.json").read_text())
    assert ma["chunk_size"] == 1_500
    assert ma["files"] == mb["files"]
    assert (a.out / "faults.json").read_bytes() == (b.out / "faults.json").read_bytes()


def test_fault_manifest_matches_the_files(faulty: Region) -> None:
    faulty_dir = faulty.out
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
    for layout in sorted(LAYOUTS):
        assert problems(LAYOUTS[layout], faulty.table(layout)) == [], layout
