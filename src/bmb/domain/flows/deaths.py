"""Deaths with their causes (ISTAT D4/D5 forms, the regional mortality register).

One ';'-separated record per death; the underlying cause is ICD-10 (WHO), as ISTAT's
automatic coding assigns it. The regional register export is BMB's layout [M].
"""

from __future__ import annotations

from bmb.domain.codes import italian as it
from bmb.domain.flows._fields import code, date, patient_id, text, time
from bmb.domain.flows.layout import Framing, Layout

DEATHS = Layout(
    name="deaths",
    flow="deaths",
    title="Deaths and causes of death",
    framing=Framing.DELIMITED,
    separator=";",
    source="BMB layout after ISTAT D4/D5 [M]",
    record_key=("id_scheda",),
    fields=(
        code("id_scheda", 12, required=True, description="death certificate number"),
        patient_id("codice_fiscale"),
        code("tipo_identificativo", 2, it.ID_TYPE, required=True),
        date("data_decesso", required=True),
        time("ora_decesso", 4),
        code("comune_decesso", 6, description="ISTAT code"),
        code("luogo_decesso", 1, it.DEATH_PLACE),
        code("codice_istituto", 8, description="hospital, when died in hospital"),
        code("causa_iniziale", 5, required=True, description="ICD-10 underlying cause, with dot"),
        code("causa_intermedia", 5),
        code("causa_terminale", 5),
        text("altre_cause", 40, description="other ICD-10 codes, '|'-separated"),
        code("riscontro_autoptico", 1, {"1": "yes", "2": "no"}),
    ),
)

LAYOUTS = (DEATHS,)
