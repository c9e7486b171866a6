"""Flusso C, specialist outpatient care (including lab tests), as two fixed-width files.

C1 (258 characters) carries the patient and the prescription; C2 carries one service
line each. They share the key region, zone, accepting structure, prescription number
and line. Field content follows the Marche TUC specification (fiorenzino/asr);
widths of fields the summary does not give are BMB's [M].
"""

from __future__ import annotations

from bmb.domain.codes import italian as it
from bmb.domain.flows._fields import (
    code,
    date,
    decimal,
    direct,
    integer,
    patient_id,
    provider,
    text,
)
from bmb.domain.flows.layout import Framing, Layout, fixed

_DMY = "%d%m%Y"

C1 = Layout(
    name="outpatient_c1",
    flow="outpatient",
    title="Flusso C, record C1: patient and prescription",
    framing=Framing.FIXED,
    source="TUC Flusso C (Marche), fiorenzino/asr docs/spec",
    record_key=("regione", "zona", "struttura_accettante", "numero_ricetta", "progressivo_riga"),
    fields=fixed(
        code("regione", 3, required=True),
        code("zona", 3, required=True, description="zone or hospital company"),
        code("struttura_accettante", 6, required=True, description="STS11/RIA11"),
        code("struttura_erogante", 6, required=True),
        code("tipo_prescrittore", 1, it.PRESCRIBER_TYPE, required=True),
        provider("cf_prescrittore", 16, "prescriber's fiscal code"),
        provider("cf_medico_erogatore", 16, "performing doctor's fiscal code"),
        direct("cognome", 30),
        direct("nome", 20),
        code("sesso", 1, {"M": "male", "F": "female"}, required=True),
        date("data_nascita", 8, _DMY, required=True),
        patient_id("codice_fiscale", 16),
        code("comune_residenza", 6, description="ISTAT code"),
        code("regione_residenza", 3),
        code("asl_residenza", 3),
        direct("team_numero", 20, description="European health card number"),
        code("team_istituzione", 10),
        code("team_stato", 2),
        date("team_scadenza", 8, _DMY),
        code("numero_ricetta", 16, required=True),
        code("progressivo_riga", 2, required=True),
        code("posizione_contabile", 1, it.ACCOUNTING_POSITION, required=True),
        code("modalita_prescrizione", 1, {"1": "paper", "2": "electronic", "3": "other"}),
        code("onere", 1, it.OUTPATIENT_PAYER, required=True),
        code("id_record", 20, required=True),
        code("cittadinanza", 3),
        text("filler", 36),
    ),
)

C2 = Layout(
    name="outpatient_c2",
    flow="outpatient",
    title="Flusso C, record C2: service line",
    framing=Framing.FIXED,
    source="TUC Flusso C (Marche), fiorenzino/asr docs/spec",
    record_key=("regione", "zona", "struttura_accettante", "numero_ricetta", "progressivo_riga"),
    fields=fixed(
        code("regione", 3, required=True),
        code("zona", 3, required=True),
        code("struttura_accettante", 6, required=True),
        code("centro_costo", 8),
        code("numero_ricetta", 16, required=True),
        code("priorita", 1, it.OUTPATIENT_PRIORITY),
        code("priorita_riscontrata", 1, it.OUTPATIENT_PRIORITY),
        code("tipo_ricetta", 1, {"S": "suggested", "A": "other"}),
        code("categoria_ricetta", 2),
        code("flag_ps", 1, {"0": "no", "1": "yes"}),
        code("flag_pac", 1, {"0": "no", "1": "yes"}),
        code("flag_ciclo", 1, {"0": "no", "1": "yes"}),
        code("progressivo_riga", 2, required=True),
        date("data_prescrizione", 8, _DMY),
        date("data_prima_disponibilita", 8, _DMY),
        date("data_prenotazione", 8, _DMY),
        date("data_inizio_ciclo", 8, _DMY),
        date("data_erogazione", 8, _DMY, required=True),
        date("data_referto", 8, _DMY),
        code("modalita_accesso", 2, it.OUTPATIENT_ACCESS_MODE, required=True),
        code("tipo_accesso", 1, it.OUTPATIENT_ACCESS_TYPE),
        code("quesito_diagnostico", 7, description="ICD-9-CM with dot"),
        code("quesito_presente", 1, {"0": "no", "1": "yes"}),
        code("flag_nomenclatore", 1, {"N": "national", "R": "regional"}),
        code("branca", 2, description="specialty branch (DM 22/7/1996)"),
        code("specialita", 5),
        code("codice_prestazione", 8, required=True, description="catalogue code, with dots"),
        integer("quantita", 3, required=True),
        decimal("tariffa", 8, 2),
        decimal("sconto", 8, 2),
        code("tipo_esenzione", 1, it.EXEMPTION_TYPE),
        code("codice_esenzione", 6),
        code("quota_fissa_tipo", 1, {"Z": "none", "A": "fee A", "B": "fee B"}),
        decimal("ticket", 8, 2),
        decimal("quota_fissa", 8, 2),
        decimal("importo_totale", 8, 2),
        text("filler", 11),
    ),
)

LAYOUTS = (C1, C2)
