"""Every code the generator writes exists in the tables BMB ships.

The lake quarantines a record whose code it does not know (``unknown_code``), so a
code the generator invents, or cuts to a field's width, is a record lost for no reason.
Each coded field of each layout, and each coding of each FHIR resource, is checked
against its table: the full ICD-9-CM and ICD-10 lists (billable codes only, i.e. leaves),
the ICD-9-CM procedures, AIC packs, the outpatient catalogue, LOINC tests with their
units, disease exemptions and ward disciplines. Records listed in the fault manifest
(corrupted on purpose) are left out.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from bmb.domain import vocab
from bmb.domain.codes import italian as it
from bmb.domain.flows import LAYOUTS
from bmb.domain.terminology import Term, icd9_dotted, icd9_proc_dotted, icd9cm, icd10
from tests.synth.conftest import Region


def _leaves(terms: tuple[Term, ...]) -> frozenset[str]:
    parents = {t.parent for t in terms}
    return frozenset(t.code for t in terms if t.code not in parents and t.kind != "block")


@cache
def icd9_codes() -> frozenset[str]:
    return _leaves(icd9cm())


@cache
def icd10_codes() -> frozenset[str]:
    return _leaves(icd10())


@cache
def tables() -> dict[str, frozenset[str]]:
    return {
        "icd9": icd9_codes(),
        "icd9_proc": frozenset(p.code for p in vocab.procedures()),
        "icd10": icd10_codes(),
        "aic": frozenset(d.aic for d in vocab.drugs()),
        "atc": frozenset(d.atc for d in vocab.drugs()),
        "catalogue": frozenset(s.code for s in vocab.outpatient_services()),
        "loinc": frozenset(t.loinc for t in vocab.lab_tests()),
        "exemption": frozenset(e.code for e in vocab.exemptions()),
        "discipline": frozenset(it.DISCIPLINE),
    }


def _same(v: str) -> str:
    return v


def _discipline(v: str) -> str:
    return v[:2]


#: (layout, field) -> (table, how the field's text becomes the table's code, multi-valued)
FIELDS: dict[tuple[str, str], tuple[str, Callable[[str], str], bool]] = {
    ("sdo_b", "diagnosi_principale"): ("icd9", icd9_dotted, False),
    **{("sdo_b", f"diagnosi_secondaria_{i}"): ("icd9", icd9_dotted, False) for i in range(1, 6)},
    ("sdo_b", "causa_esterna"): ("icd9", icd9_dotted, False),
    ("sdo_b", "intervento_principale"): ("icd9_proc", icd9_proc_dotted, False),
    **{
        ("sdo_b", f"intervento_secondario_{i}"): ("icd9_proc", icd9_proc_dotted, False)
        for i in range(1, 6)
    },
    ("sdo_b", "reparto_ammissione"): ("discipline", _discipline, False),
    ("sdo_b", "reparto_trasferimento"): ("discipline", _discipline, False),
    ("sdo_b", "reparto_dimissione"): ("discipline", _discipline, False),
    ("emur", "diagnosi_principale"): ("icd9", _same, False),
    ("emur", "diagnosi_secondarie"): ("icd9", _same, True),
    ("emur", "obi_diagnosi_principale"): ("icd9", _same, False),
    ("emur", "obi_diagnosi_secondarie"): ("icd9", _same, True),
    ("emur", "prestazione_principale"): ("icd9_proc", _same, False),
    ("emur", "prestazioni_secondarie"): ("icd9_proc", _same, True),
    ("emur", "obi_prestazione_principale"): ("icd9_proc", _same, False),
    ("emur", "obi_prestazioni_secondarie"): ("icd9_proc", _same, True),
    ("emur", "reparto_ricovero"): ("discipline", _same, False),
    ("emur", "obi_reparto_ricovero"): ("discipline", _same, False),
    ("emur", "codice_esenzione"): ("exemption", _same, False),
    ("deaths", "causa_iniziale"): ("icd10", _same, False),
    ("deaths", "causa_intermedia"): ("icd10", _same, False),
    ("deaths", "causa_terminale"): ("icd10", _same, False),
    ("deaths", "altre_cause"): ("icd10", _same, True),
    ("exemptions", "codice_esenzione"): ("exemption", _same, False),
    ("exemptions", "diagnosi"): ("icd9", _same, False),
    ("pharmacy_d2", "codice_prodotto"): ("aic", _same, False),
    ("outpatient_c2", "codice_prestazione"): ("catalogue", _same, False),
    ("outpatient_c2", "codice_esenzione"): ("exemption", _same, False),
    ("outpatient_c2", "quesito_diagnostico"): ("icd9", _same, False),
    ("labs", "codice_prestazione"): ("catalogue", _same, False),
    ("labs", "codice_loinc"): ("loinc", _same, False),
}


def _unknown(region: Region) -> dict[tuple[str, str], set[str]]:
    out: dict[tuple[str, str], set[str]] = {}
    known = tables()
    for (layout, name), (table, norm, multi) in FIELDS.items():
        values = set(pc.unique(region.table(layout)[name]).to_pylist()) - {""}
        if multi:
            values = {v for text in values for v in text.split("|") if v}
        bad = {v for v in values if norm(v) not in known[table]}
        if bad:
            out[(layout, name)] = bad
    return out


def test_code_fields_named_here_exist_in_their_layouts() -> None:
    for layout, name in FIELDS:
        assert name in LAYOUTS[layout].names, (layout, name)


def test_every_flow_code_is_in_its_table(region: Region) -> None:
    assert _unknown(region) == {}


def test_every_flow_code_is_in_its_table_outside_injected_faults(faulty: Region) -> None:
    assert _unknown(faulty) == {}


def test_exemption_codes_fit_their_field_whole(region: Region) -> None:
    # Regression: 8-character codes (0A02.414) were cut to the 7-character field.
    codes = set(region.table("exemptions")["codice_esenzione"].to_pylist())
    assert {c for c in codes if len(c) == 8}, "no 8-character code: is the field wide enough?"
    assert codes <= tables()["exemption"]


def test_lab_results_carry_the_unit_and_catalogue_code_of_their_loinc(region: Region) -> None:
    t = region.table("labs")
    pairs = set(
        zip(
            t["codice_loinc"].to_pylist(),
            t["unita"].to_pylist(),
            t["codice_prestazione"].to_pylist(),
            strict=True,
        )
    )
    expected = {x.loinc: (x.unit, x.catalogue) for x in vocab.lab_tests()}
    assert {(loinc, u, c) for loinc, u, c in pairs if expected[loinc] != (u, c)} == set()


def test_exemption_diagnosis_belongs_to_the_exempted_condition(region: Region) -> None:
    t = region.table("exemptions")
    by_cond = {c.condition: c.icd9cm_prefixes for c in vocab.conditions()}
    covers = {e.code: e.conditions for e in vocab.exemptions()}
    for code, dx in set(
        zip(t["codice_esenzione"].to_pylist(), t["diagnosi"].to_pylist(), strict=True)
    ):
        prefixes = [p for cond in covers[code] for p in by_cond[cond]]
        assert any(dx.startswith(p) for p in prefixes), (code, dx)


def test_residents_live_in_the_regions_comuni(region: Region) -> None:
    from bmb.synth.region import load_region

    comuni = set(load_region("liguria").cells.istat.tolist())
    for layout, name in (("registry", "comune_residenza"), ("sdo_a", "comune_residenza")):
        assert set(region.table(layout)[name].to_pylist()) <= comuni, layout


def _codings(t: pa.Table, *parts: str) -> pa.Table:
    """(system, code) of every coding under ``parts`` (a path to a CodeableConcept)."""
    col = t[parts[0]]
    for p in parts[1:]:
        col = pc.struct_field(col, p)
    flat = pc.list_flatten(col)
    return pa.table(
        {"system": pc.struct_field(flat, "system"), "code": pc.struct_field(flat, "code")}
    )


@pytest.mark.parametrize(
    ("rtype", "path"),
    [
        ("Condition", ("code", "coding")),
        ("Procedure", ("code", "coding")),
        ("Observation", ("code", "coding")),
        ("MedicationDispense", ("medicationCodeableConcept", "coding")),
    ],
)
def test_every_fhir_coding_is_in_its_table(
    region: Region, rtype: str, path: tuple[str, ...]
) -> None:
    known = tables()
    by_system = {
        vocab.ICD10: known["icd10"],
        vocab.LOINC: known["loinc"],
        vocab.AIC: known["aic"],
        vocab.ATC: known["atc"],
    }
    t = _codings(region.fhir(rtype), *path)
    pairs = set(zip(t["system"].to_pylist(), t["code"].to_pylist(), strict=True))
    assert pairs
    for system, code in pairs:
        if system == vocab.ICD9CM:
            # One system URI for ICD-9-CM; procedures have 2-digit chapters (36.07).
            table = known["icd9_proc"] if rtype == "Procedure" else known["icd9"]
        else:
            table = by_system[system]
        assert code in table, (rtype, system, code)


def test_every_reason_the_generator_can_draw_is_in_the_tables() -> None:
    # Rare reasons may not show in a small region: check the generator's own tables.
    from bmb.synth.hospital import ED_MINOR, reasons

    known = tables()
    rs = reasons()
    assert set(rs.diagnosis) <= known["icd9"]
    assert set(rs.procedure) - {""} <= known["icd9_proc"]
    assert set(rs.discipline) <= known["discipline"]
    assert {x[0] for x in ED_MINOR} <= known["icd9"]
    assert set(rs.cause) - {""} <= known["icd10"]
    assert {c.icd9cm for c in vocab.conditions()} <= known["icd9"]
    assert {c.icd10 for c in vocab.conditions()} <= known["icd10"]
    assert {d.code for d in vocab.death_causes()} <= known["icd10"]
    atc = {a for c in vocab.conditions() for a in c.atc}
    assert atc <= known["atc"]
