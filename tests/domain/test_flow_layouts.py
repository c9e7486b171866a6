"""The flow layouts are consistent with the specifications they cite."""

from __future__ import annotations

import pytest

from bmb.domain.flows import FLOWS, LAYOUTS, file_name, parse_file_name
from bmb.domain.flows.layout import Field, FieldType, Framing, Identifier, Layout, fixed


def test_every_flow_of_the_region_has_a_layout() -> None:
    assert set(FLOWS) == {
        "sdo",
        "emur",
        "pharmacy",
        "outpatient",
        "exemptions",
        "registry",
        "deaths",
        "labs",
    }


@pytest.mark.parametrize("layout", list(LAYOUTS.values()), ids=list(LAYOUTS))
def test_layout_has_exactly_one_patient_identifier(layout: Layout) -> None:
    ids = [f for f in layout if f.identifier is Identifier.PATIENT_ID]
    assert len(ids) <= 1
    if layout.name not in ("sdo_b", "pharmacy_d2", "outpatient_c2"):
        assert len(ids) == 1, "the record must say whose it is"


def test_pharmacy_positions_match_the_marche_specification() -> None:
    d1, d2 = LAYOUTS["pharmacy_d1"], LAYOUTS["pharmacy_d2"]
    assert (d1.field("cf_medico").start, d1.field("cf_medico").end) == (13, 28)
    assert d1.field("sesso").start == 95
    assert (d1.field("data_nascita").start, d1.field("data_nascita").end) == (96, 103)
    assert (d1.field("codice_fiscale").start, d1.field("codice_fiscale").end) == (104, 119)
    assert (d2.field("data_prescrizione").start, d2.field("data_prescrizione").end) == (31, 38)
    assert (d2.field("data_spedizione").start, d2.field("data_spedizione").end) == (39, 46)
    assert (d2.field("codice_prodotto").start, d2.field("codice_prodotto").end) == (53, 62)
    assert (d2.field("quantita").start, d2.field("quantita").end) == (63, 65)
    assert (d2.field("prezzo_unitario").start, d2.field("prezzo_unitario").end) == (66, 73)


def test_outpatient_c1_is_258_characters() -> None:
    assert LAYOUTS["outpatient_c1"].width == 258


def test_emur_has_the_sdk_field_positions() -> None:
    emur = LAYOUTS["emur"]
    assert emur.framing is Framing.DELIMITED
    assert emur.separator == "~"
    names = emur.names
    assert names[11] == "triage"
    assert names[12] == "assistito_cuni"
    assert names[14] == "assistito_tipologia_ci"
    assert names[19] == "genere"
    assert names[31] == "esito_trattamento"
    assert names[38] == "numero_sdo"
    assert names[56] == "onere"
    assert names[61] == "tipo_trasmissione"


def test_fixed_layout_refuses_a_gap() -> None:
    a = Field("a", FieldType.TEXT, start=1, length=2)
    b = Field("b", FieldType.TEXT, start=4, length=2)
    with pytest.raises(ValueError, match="starts at 4, expected 3"):
        Layout("x", "x", "x", Framing.FIXED, (a, b))


def test_fixed_computes_contiguous_positions() -> None:
    fields = fixed(("a", FieldType.TEXT, 3), ("b", FieldType.INT, 5))
    assert [(f.start, f.end) for f in fields] == [(1, 3), (4, 8)]


def test_date_field_without_format_is_refused() -> None:
    with pytest.raises(ValueError, match="need a format"):
        Field("d", FieldType.DATE, length=8)


def test_file_names_round_trip() -> None:
    name = file_name("sdo_a", "070", 2024, 3)
    assert name == "SDO_A_070_202403.txt"
    parsed = parse_file_name(name)
    assert parsed is not None
    layout, region, period = parsed
    assert (layout.name, region, period) == ("sdo_a", "070", "202403")
    assert parse_file_name("OUTPATIENT_C2_070_202412.txt.gz") is not None
    assert parse_file_name("notes.txt") is None
