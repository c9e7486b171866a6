"""SDO, the hospital discharge record (DM 261/2016), as two fixed-width files.

Section A (patient) and section B (stay) travel as separate files linked by hospital
code and SDO number, as in the national transmission. Field order and meanings follow
DM 261/2016 art. 2; widths are BMB's [M] (the decree fixes content, regions fix widths).
"""

from __future__ import annotations

from bmb.domain.codes import italian as it
from bmb.domain.flows._fields import code, date, direct, integer, patient_id, text, time
from bmb.domain.flows.layout import Framing, Layout, fixed

_KEY = (
    code("codice_istituto", 8, required=True, description="hospital code (HSP11 + sub-site)"),
    code("numero_sdo", 8, required=True, description="SDO number: 2-digit year + 6 progressive"),
)

SDO_A = Layout(
    name="sdo_a",
    flow="sdo",
    title="SDO section A: patient",
    framing=Framing.FIXED,
    source="DM 261/2016 art. 2, section A (items 1-12)",
    record_key=("codice_istituto", "numero_sdo"),
    fields=fixed(
        *_KEY,
        code("numero_sdo_madre", 8, description="mother's SDO number (newborns)"),
        direct("cognome", 30, description="surname"),
        direct("nome", 20, description="first name"),
        code("sesso", 1, it.SEX, required=True),
        date("data_nascita", required=True),
        code("comune_nascita", 6, required=True, description="ISTAT code; 999 + country abroad"),
        code("titolo_studio", 1, it.EDUCATION),
        code("stato_civile", 1, it.MARITAL_STATUS),
        code("comune_residenza", 6, required=True, description="ISTAT code; 999999 abroad"),
        code("cittadinanza", 3, description="ISTAT country code, 100 Italy"),
        patient_id("codice_identificativo"),
        code("tipo_identificativo", 2, it.ID_TYPE, required=True),
        code("regione_residenza", 3),
        code("asl_residenza", 3),
    ),
)

_DIAG = []
for _i in range(1, 6):
    _DIAG += [
        code(f"diagnosi_secondaria_{_i}", 5, description="ICD-9-CM, no dot"),
        code(f"poa_secondaria_{_i}", 1, it.POA),
    ]
_PROC = []
for _i in range(1, 6):
    _PROC += [
        code(f"intervento_secondario_{_i}", 4, description="ICD-9-CM procedure, no dot"),
        date(f"data_intervento_secondario_{_i}"),
    ]

SDO_B = Layout(
    name="sdo_b",
    flow="sdo",
    title="SDO section B: stay",
    framing=Framing.FIXED,
    source="DM 261/2016 art. 2, section B (items 13-28-bis); DM 165/2023 scales",
    record_key=("codice_istituto", "numero_sdo"),
    fields=fixed(
        *_KEY,
        code("regime", 1, it.SDO_REGIME, required=True),
        date("data_prenotazione"),
        code("classe_priorita", 1, it.SDO_PRIORITY),
        date("data_ricovero", required=True),
        time("ora_ricovero"),
        code("reparto_ammissione", 4, required=True, description="discipline (2) + unit (2)"),
        code("onere_degenza", 1, it.SDO_PAYER, required=True),
        code("provenienza", 1, it.SDO_SOURCE, required=True),
        code("tipo_ricovero", 1, it.SDO_ADMISSION_TYPE, required=True),
        code("traumatismi", 1, description="trauma or poisoning kind"),
        code("causa_esterna", 5, description="ICD-9-CM E code"),
        code("reparto_trasferimento", 4, description="first internal transfer ward"),
        date("data_trasferimento"),
        code("reparto_dimissione", 4, required=True),
        date("data_dimissione", required=True),
        time("ora_dimissione"),
        code("modalita_dimissione", 1, it.SDO_DISCHARGE_MODE, required=True),
        code("riscontro_autoptico", 1, {"1": "yes", "2": "no"}),
        code("motivo_dh", 1, description="day-hospital reason"),
        integer("giornate_dh", 3, description="day-hospital accesses"),
        integer("peso_nascita", 4, description="grams"),
        code("diagnosi_principale", 5, required=True, description="ICD-9-CM, no dot"),
        code("poa_principale", 1, it.POA),
        *_DIAG,
        code("intervento_principale", 4, description="ICD-9-CM procedure, no dot"),
        date("data_intervento_principale"),
        time("ora_intervento_principale"),
        *_PROC,
        integer("rankin", 1, description="modified Rankin scale, units 28/56/75"),
        integer("barthel", 3, description="Barthel index, units 28/56/75"),
        text("filler", 10),
    ),
)

LAYOUTS = (SDO_A, SDO_B)
