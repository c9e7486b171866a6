"""EMUR-PS, the emergency-department visit, as the ministry SDK's '~'-separated input.

Fields by position follow the SDK's README (v3.0). The regional copy carries the
patient's fiscal code in ``assistito_cuni`` (the ministry's 88-character CUNI is
produced from it only at national transmission). Multi-valued fields (secondary
diagnoses and procedures) separate their values with '|' [M].
"""

from __future__ import annotations

from bmb.domain.codes import italian as it
from bmb.domain.flows._fields import code, date, decimal, integer, patient_id, text, time
from bmb.domain.flows.layout import Framing, Layout

_D = "%Y-%m-%d"
_T = "%H:%M"

EMUR = Layout(
    name="emur",
    flow="emur",
    title="EMUR-PS emergency-department visit",
    framing=Framing.DELIMITED,
    separator="~",
    source="ministero-salute/sdk-engine-prontosoccorso-java README v3.0",
    record_key=("identificativo",),
    fields=(
        code("identificativo", 16, required=True, description="year + 12-digit progressive"),
        code("erogatore_codice_istituto", 8, required=True, description="HSP11/HSP11bis"),
        date("entrata_data", 10, _D, required=True),
        time("entrata_ora", 5, _T, required=True),
        code("modalita_arrivo", 1, it.ED_ARRIVAL, required=True),
        code("centrale_118", 6),
        code("missione_118", 12),
        code("responsabile_invio", 1, it.ED_REFERRAL, required=True),
        code("istituto_provenienza", 8),
        code("problema_principale", 2, it.ED_PROBLEM, required=True),
        code("trauma", 1),
        code("triage", 1, it.ED_TRIAGE, required=True),
        patient_id("assistito_cuni", 88, "patient's fiscal code (regional copy of the CUNI)"),
        code("assistito_validita_ci", 1, {"0": "not valid", "1": "valid"}),
        code("assistito_tipologia_ci", 2, it.ID_TYPE, required=True),
        code("istituzione_team", 28),
        integer("anno_nascita", 4, required=True),
        integer("mese_nascita", 2, description="under 1 year only"),
        code("eta_presunta", 1, description="presumed age band 0-6"),
        code("genere", 1, it.SEX, required=True),
        code("cittadinanza", 2, description="ISO 3166 alpha-2"),
        code("regione_residenza", 3),
        code("comune_residenza", 6),
        code("asl_residenza", 3),
        code("stato_estero", 2),
        date("presa_in_carico_data", 10, _D),
        time("presa_in_carico_ora", 5, _T),
        code("diagnosi_principale", 6, description="ICD-9-CM with dot"),
        text("diagnosi_secondarie", 27, description="up to 4 ICD-9-CM codes, '|'-separated"),
        code("prestazione_principale", 8),
        text("prestazioni_secondarie", 35, description="up to 4 codes, '|'-separated"),
        code("esito_trattamento", 2, it.ED_OUTCOME, required=True),
        date("esito_data", 10, _D),
        time("esito_ora", 5, _T),
        date("dimissione_data", 10, _D, required=True),
        time("dimissione_ora", 5, _T, required=True),
        code("referto", 1, {"1": "INAIL", "2": "judicial", "3": "animal bite", "9": "other"}),
        code("livello_appropriatezza", 1),
        code("numero_sdo", 8, description="SDO number of the admission"),
        code("reparto_ricovero", 2, description="discipline of the admitting ward"),
        code("motivo_trasferimento", 1),
        code("istituto_trasferimento", 8),
        code("obi_problema_clinico", 2),
        date("obi_ingresso_data", 10, _D),
        time("obi_ingresso_ora", 5, _T),
        date("obi_uscita_data", 10, _D),
        time("obi_uscita_ora", 5, _T),
        integer("obi_consulenze", 2),
        code("obi_esito", 1),
        code("obi_prestazione_principale", 8),
        text("obi_prestazioni_secondarie", 35),
        code("obi_diagnosi_principale", 6),
        text("obi_diagnosi_secondarie", 27),
        code("obi_motivo_trasferimento", 1),
        code("obi_istituto_trasferimento", 8),
        code("obi_reparto_ricovero", 2),
        code("onere", 1, it.ED_PAYER, required=True),
        decimal("importo_lordo", 10, 2),
        decimal("quota_ticket", 10, 2),
        code("posizione_ticket", 1),
        code("codice_esenzione", 6),
        code("tipo_trasmissione", 1, {"I": "insert", "V": "change", "C": "cancel"}, required=True),
    ),
)

LAYOUTS = (EMUR,)
