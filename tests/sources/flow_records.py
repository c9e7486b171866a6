"""Hand-made flow records shared by the flow reader tests."""

from __future__ import annotations

from bmb.domain.flows.layout import Framing, Layout

#: A good pharmacy D2 record (dispensing line), field by field.
GOOD_D2 = {
    "regione": "070",
    "asl": "103",
    "farmacia": "000123",
    "numero_ricetta": "0700000000000001",
    "progressivo_riga": "01",
    "data_prescrizione": "05032024",
    "data_spedizione": "07032024",
    "codice_prodotto": "012345678",
    "quantita": "002",
    "prezzo_unitario": "00001250",
    "tipo_trasmissione": "1",
}


def fixed_record(layout: Layout, values: dict[str, str]) -> str:
    """A fixed-width record: each value left-aligned in its field, missing ones blank."""
    assert layout.framing is Framing.FIXED
    return "".join(values.get(f.name, "").ljust(f.length)[: f.length] for f in layout.fields)
