"""The regional patient registry (anagrafe assistiti, fed by the national ANA).

One ';'-separated record per coverage spell: who the resident is, where they live,
their GP and the dates their regional coverage starts and ends. The national ANA
record is not published field by field; this layout is BMB's [M].
"""

from __future__ import annotations

from bmb.domain.codes import italian as it
from bmb.domain.flows._fields import code, date, direct, patient_id, provider
from bmb.domain.flows.layout import Framing, Layout

REGISTRY = Layout(
    name="registry",
    flow="registry",
    title="Patient registry: coverage spells",
    framing=Framing.DELIMITED,
    separator=";",
    source="BMB layout after the ANA content (Sistema TS) [M]",
    record_key=("codice_fiscale", "data_inizio_assistenza"),
    fields=(
        patient_id("codice_fiscale"),
        code("tipo_identificativo", 2, it.ID_TYPE, required=True),
        direct("cognome", 40),
        direct("nome", 40),
        code("sesso", 1, {"M": "male", "F": "female"}, required=True),
        date("data_nascita", required=True),
        code("comune_nascita", 6, required=True, description="ISTAT code; 999 + country"),
        code("cittadinanza", 3, required=True, description="ISTAT country code, 100 Italy"),
        code("comune_residenza", 6, required=True, description="ISTAT code"),
        direct("indirizzo", 60, description="street address"),
        code("cap", 5),
        code("asl", 3, required=True),
        code("distretto", 3, required=True),
        provider("cf_medico", 16, "GP's or paediatrician's fiscal code"),
        code("tipo_medico", 1, {"F": "general practitioner", "P": "family paediatrician"}),
        date("data_inizio_assistenza", required=True),
        date("data_fine_assistenza"),
        code("motivo_fine", 1, it.COVERAGE_END),
    ),
)

LAYOUTS = (REGISTRY,)
