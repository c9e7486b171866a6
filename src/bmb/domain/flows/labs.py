"""Laboratory results from the regional laboratory information systems.

One ';'-separated record per result, with the outpatient catalogue code of the test
and its LOINC code. Italy has no national lab-results flow; results reach the
electronic health record as reports. This export layout is BMB's [M].
"""

from __future__ import annotations

from bmb.domain.codes import italian as it
from bmb.domain.flows._fields import code, date, decimal, patient_id, text, time
from bmb.domain.flows.layout import Framing, Layout

LABS = Layout(
    name="labs",
    flow="labs",
    title="Laboratory results",
    framing=Framing.DELIMITED,
    separator=";",
    source="BMB layout [M]",
    record_key=("id_risultato",),
    fields=(
        code("id_risultato", 16, required=True),
        patient_id("codice_fiscale"),
        code("tipo_identificativo", 2, it.ID_TYPE, required=True),
        code("codice_laboratorio", 8, required=True, description="structure code (STS11)"),
        date("data_prelievo", required=True),
        time("ora_prelievo", 4),
        code("codice_prestazione", 8, description="outpatient catalogue code"),
        code("codice_loinc", 10, required=True),
        text("descrizione", 60),
        decimal("valore", 12, 0, required=True, description="result, '.' decimal separator"),
        code("unita", 20, description="UCUM unit"),
        decimal("valore_min", 12, 0),
        decimal("valore_max", 12, 0),
        code("flag", 1, it.LAB_FLAG),
    ),
)

LAYOUTS = (LABS,)
