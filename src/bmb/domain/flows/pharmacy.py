"""Flusso D (art. 50), community-pharmacy dispensing, as two fixed-width files.

D1 carries who (patient, prescriber) and D2 what (drug, dates, amounts), one record
per prescription line (01-98) plus a trailer line 99 per prescription carrying its
totals. Both start with the same key: region, ASL, pharmacy, prescription number and
line. Positions follow the Marche TUC specification (fiorenzino/asr).
"""

from __future__ import annotations

from bmb.domain.codes import italian as it
from bmb.domain.flows._fields import code, date, decimal, direct, integer, patient_id, provider
from bmb.domain.flows.layout import Framing, Layout, fixed

_DMY = "%d%m%Y"

D1 = Layout(
    name="pharmacy_d1",
    flow="pharmacy",
    title="Flusso D, record D1: patient and prescriber",
    framing=Framing.FIXED,
    source="TUC Flusso D (Marche), fiorenzino/asr docs/spec",
    record_key=("regione", "asl", "farmacia", "numero_ricetta", "progressivo_riga"),
    fields=fixed(
        code("regione", 3, required=True),
        code("asl", 3, required=True),
        code("farmacia", 6, required=True),
        provider("cf_medico", 16, "prescriber's fiscal code"),
        code("codice_regionale_medico", 16),
        direct("nominativo", 50, description="patient's surname and name"),
        code("sesso", 1, {"M": "male", "F": "female"}),
        date("data_nascita", 8, _DMY),
        patient_id("codice_fiscale", 16),
        direct("codice_sanitario", 16, description="health card number"),
        code("provincia_residenza", 3),
        code("regione_residenza", 3),
        code("asl_residenza", 3),
        code("numero_ricetta", 16, required=True),
        code("progressivo_riga", 2, required=True, description="01-98, 99 = trailer"),
        code("posizione_contabile", 1, it.ACCOUNTING_POSITION, required=True),
        code("id_record", 20, required=True),
    ),
)

D2 = Layout(
    name="pharmacy_d2",
    flow="pharmacy",
    title="Flusso D, record D2: dispensed drug",
    framing=Framing.FIXED,
    source="TUC Flusso D (Marche), fiorenzino/asr docs/spec",
    record_key=("regione", "asl", "farmacia", "numero_ricetta", "progressivo_riga"),
    fields=fixed(
        code("regione", 3, required=True),
        code("asl", 3, required=True),
        code("farmacia", 6, required=True),
        code("numero_ricetta", 16, required=True),
        code("progressivo_riga", 2, required=True),
        date("data_prescrizione", 8, _DMY, required=True),
        date("data_spedizione", 8, _DMY, required=True),
        code("mese_contabile", 6, description="YYYYMM"),
        code("codice_prodotto", 10, description="AIC/MINSAN10; GAL, IPO, OSSIGENO"),
        integer("quantita", 3),
        decimal("prezzo_unitario", 8, 2),
        decimal("sconto", 4, 2, description="percent"),
        code("posizione_ticket", 1, it.PHARMACY_TICKET),
        decimal("importo_assistito", 8, 2, description="line 99 only"),
        decimal("importo_totale", 8, 2),
        code("tipo_trasmissione", 1, it.TRANSMISSION, required=True),
        *[code(f"err{i:02d}", 1, description="error flag") for i in range(1, 11)],
    ),
)

LAYOUTS = (D1, D2)
