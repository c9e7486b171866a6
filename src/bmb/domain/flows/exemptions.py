"""Disease-based ticket exemptions (esenzioni per patologia, DPCM 12/1/2017 Annex 8).

One ';'-separated record per certified exemption. Codes are the condition number
with the DM 329/1999 ICD-9-CM sub-code when there is one (e.g. 013.250). The
regional export is not standardized nationally; this layout is BMB's [M].
"""

from __future__ import annotations

from bmb.domain.codes import italian as it
from bmb.domain.flows._fields import code, date, patient_id, provider
from bmb.domain.flows.layout import Framing, Layout

EXEMPTIONS = Layout(
    name="exemptions",
    flow="exemptions",
    title="Disease exemptions",
    framing=Framing.DELIMITED,
    separator=";",
    source="BMB layout after DPCM 12/1/2017 Annex 8 [M]",
    record_key=("id_esenzione",),
    fields=(
        code("id_esenzione", 12, required=True),
        patient_id("codice_fiscale"),
        code("tipo_identificativo", 2, it.ID_TYPE, required=True),
        code("codice_esenzione", 8, required=True, description="e.g. 013.250, 0A31, 0A02.414"),
        code("diagnosi", 6, description="certifying ICD-9-CM diagnosis, with dot"),
        date("data_inizio", required=True),
        date("data_fine"),
        code("asl_rilascio", 3, required=True),
        provider("cf_medico_certificatore", 16, "certifying doctor's fiscal code"),
    ),
)

LAYOUTS = (EXEMPTIONS,)
