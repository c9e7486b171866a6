"""The electronic health record as FHIR R4 Bulk Data NDJSON, one line per resource.

The same people as the flows, with the same fiscal codes as Patient identifiers, so
that one person is one person across sources. Lines are assembled from templates
with Arrow's string kernels instead of ``json.dumps`` per resource (tens of millions
of resources); every value put into a template is a code, a number, a date or an
ASCII name without quotes or backslashes, so the result is valid JSON (a test parses
every line).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bmb.domain import vocab
from bmb.synth.lines import EPOCH, _date_table, _time_table, strings, to_bytes

Table = dict[str, np.ndarray]
CF_SYSTEM = "http://hl7.it/sid/codiceFiscale"
STP_SYSTEM = "http://hl7.it/sid/stp"
ENI_SYSTEM = "http://hl7.it/sid/eni"


def _s(values: Any) -> pa.Array:
    if isinstance(values, pa.Array):
        return values
    arr = np.asarray(values)
    if arr.dtype.kind in "iu":
        return pc.cast(pa.array(arr), pa.string())
    return strings(arr)


def resource_ids(prefix: str, *parts: Any) -> pa.Array:
    """Resource ids ``prefix-part-part...`` built with Arrow (numbers or strings)."""
    cols = [_s(p) for p in parts]
    return pc.binary_join_element_wise(prefix, *[x for c in cols for x in ("-", c)], "")


def _date(days: np.ndarray) -> pa.Array:
    idx = (days.astype("datetime64[D]") - EPOCH).astype(np.int64)
    return pc.take(_date_table("%Y-%m-%d"), pa.array(idx))


def _datetime(days: np.ndarray, minutes: np.ndarray) -> pa.Array:
    t = pc.take(_time_table("%H:%M"), pa.array(np.clip(minutes, 0, 1439).astype(np.int64)))
    return pc.binary_join_element_wise(_date(days), "T", t, ":00+01:00", "")


def _join(*parts: Any) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _num(values: np.ndarray, decimals: int = 2) -> pa.Array:
    return pc.cast(pa.array(np.round(values, decimals)), pa.string())


def patients(people: Table, pv: Any, health: Any) -> pa.Array:
    """Patient resources: identifier, name, gender, birth date, address, death."""
    pid = _s(people["pid"])
    system = np.where(
        people["id_type"] == 1, STP_SYSTEM, np.where(people["id_type"] == 2, ENI_SYSTEM, CF_SYSTEM)
    )
    gender = np.where(people["sex"] == 2, "female", "male")
    dead = ~np.isnat(health.death)
    deceased = pc.if_else(
        pa.array(dead),
        pc.binary_join_element_wise(
            ',"deceasedDateTime":"', _date(np.where(dead, health.death, people["birth"])), '"', ""
        ),
        "",
    )
    return _join(
        '{"resourceType":"Patient","id":"',
        pid,
        '","identifier":[{"system":"',
        _s(system),
        '","value":"',
        _s(pv.cf),
        '"}],"name":[{"family":"',
        _s(pv.surname),
        '","given":["',
        _s(pv.first),
        '"]}],"gender":"',
        _s(gender),
        '","birthDate":"',
        _date(people["birth"]),
        '"',
        deceased,
        ',"address":[{"use":"home","line":["',
        _s(pv.address),
        '"],"postalCode":"',
        _s(pv.cap),
        '","district":"',
        _s(pv.comune),
        '","country":"IT"}]}',
    )


def encounters(
    ids: Any,
    cls: str,
    display: str,
    person_ids: Any,
    start_day: Any,
    start_min: Any,
    end_day: Any,
    end_min: Any,
) -> pa.Array:
    return _join(
        '{"resourceType":"Encounter","id":"',
        _s(ids),
        '","status":"finished","class":{"system":'
        '"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"',
        cls,
        '","display":"',
        display,
        '"},"subject":{"reference":"Patient/',
        _s(person_ids),
        '"},"period":{"start":"',
        _datetime(start_day, start_min),
        '","end":"',
        _datetime(end_day, end_min),
        '"}}',
    )


def conditions(
    ids: Any,
    person_ids: Any,
    icd9: Any,
    icd10: Any,
    onset: Any,
    category: str,
    encounter: Any | None = None,
) -> pa.Array:
    enc: Any = ""
    if encounter is not None:
        enc = pc.binary_join_element_wise(
            ',"encounter":{"reference":"Encounter/', _s(encounter), '"}', ""
        )
    coding10 = pc.if_else(
        pc.not_equal(_s(icd10), ""),
        pc.binary_join_element_wise(
            ',{"system":"' + vocab.ICD10 + '","code":"', _s(icd10), '"}', ""
        ),
        "",
    )
    return _join(
        '{"resourceType":"Condition","id":"',
        _s(ids),
        '","clinicalStatus":{"coding":[{"system":'
        '"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},'
        '"category":[{"coding":[{"system":'
        '"http://terminology.hl7.org/CodeSystem/condition-category","code":"',
        category,
        '"}]}],"code":{"coding":[{"system":"' + vocab.ICD9CM + '","code":"',
        _s(icd9),
        '"}',
        coding10,
        ']},"subject":{"reference":"Patient/',
        _s(person_ids),
        '"}',
        enc,
        ',"onsetDateTime":"',
        _date(onset),
        '"}',
    )


def procedures(
    ids: Any,
    person_ids: Any,
    code: Any,
    day: Any,
    encounter: Any,
) -> pa.Array:
    return _join(
        '{"resourceType":"Procedure","id":"',
        _s(ids),
        '","status":"completed","code":{"coding":[{"system":"' + vocab.ICD9CM + '","code":"',
        _s(code),
        '"}]},"subject":{"reference":"Patient/',
        _s(person_ids),
        '"},"encounter":{"reference":"Encounter/',
        _s(encounter),
        '"},"performedDateTime":"',
        _date(day),
        '"}',
    )


def observations(
    ids: Any,
    person_ids: Any,
    loinc: Any,
    description: Any,
    value_text: Any,
    unit: Any,
    day: Any,
    minute: Any,
    encounter: Any,
) -> pa.Array:
    return _join(
        '{"resourceType":"Observation","id":"',
        _s(ids),
        '","status":"final","category":[{"coding":[{"system":'
        '"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],'
        '"code":{"coding":[{"system":"' + vocab.LOINC + '","code":"',
        _s(loinc),
        '","display":"',
        _s(description),
        '"}]},"subject":{"reference":"Patient/',
        _s(person_ids),
        '"},"encounter":{"reference":"Encounter/',
        _s(encounter),
        '"},"effectiveDateTime":"',
        _datetime(day, minute),
        '","valueQuantity":{"value":',
        _s(value_text),
        ',"unit":"',
        _s(unit),
        '","system":"' + vocab.UCUM + '","code":"',
        _s(unit),
        '"}}',
    )


def dispenses(
    ids: Any,
    person_ids: Any,
    aic: Any,
    atc: Any,
    product: Any,
    qty: Any,
    day: Any,
) -> pa.Array:
    return _join(
        '{"resourceType":"MedicationDispense","id":"',
        _s(ids),
        '","status":"completed","medicationCodeableConcept":{"coding":[{"system":"'
        + vocab.AIC
        + '","code":"',
        _s(aic),
        '","display":"',
        _s(product),
        '"},{"system":"' + vocab.ATC + '","code":"',
        _s(atc),
        '"}]},"subject":{"reference":"Patient/',
        _s(person_ids),
        '"},"quantity":{"value":',
        _s(qty),
        ',"unit":"package"},"whenHandedOver":"',
        _date(day),
        '"}',
    )


def _pick(values: list[str], idx: np.ndarray) -> pa.Array:
    """Values of a small table (a vocabulary column) for each record, taken in Arrow."""
    return pa.array(values, pa.string()).take(pa.array(idx))


def chunk_resources(
    people: Table,
    h: Any,
    pv: Any,
    ed: Table,
    stays: Table,
    rx: Table,
    op: Table,
    labs: Table,
) -> dict[str, tuple[bytes, int]]:
    """Every resource of a chunk, as NDJSON bytes and a count per resource type."""
    pid = people["pid"]
    conds = vocab.conditions()
    out: dict[str, list[pa.Array]] = {}

    def add(kind: str, arr: pa.Array) -> None:
        if len(arr):
            out.setdefault(kind, []).append(arr)

    add("Patient", patients(people, pv, h))
    # Encounters: stays (IMP), ED visits (EMER), outpatient prescriptions (AMB).
    s_id = resource_ids("sdo", stays["numero"], stays["hospital"])
    sp = pid[stays["person"]]
    add(
        "Encounter",
        encounters(
            s_id,
            "IMP",
            "inpatient encounter",
            sp,
            stays["admit_date"],
            stays["admit_min"],
            stays["discharge_date"],
            stays["discharge_min"],
        ),
    )
    add(
        "Encounter",
        encounters(
            resource_ids("ps", ed["id"]),
            "EMER",
            "emergency",
            pid[ed["person"]],
            ed["entry_date"],
            ed["entry_min"],
            ed["exit_date"],
            ed["exit_min"],
        ),
    )
    first = np.nonzero(op["line"] == 1)[0]
    add(
        "Encounter",
        encounters(
            resource_ids("amb", pid[op["person"][first]], op["rx"][first]),
            "AMB",
            "ambulatory",
            pid[op["person"][first]],
            op["day"][first],
            np.full(len(first), 8 * 60),
            op["day"][first],
            np.full(len(first), 9 * 60),
        ),
    )
    # Conditions: the problem list (chronic conditions with onset), and stay diagnoses.
    who, j = np.nonzero(~np.isnat(h.onset))
    add(
        "Condition",
        conditions(
            resource_ids("c", pid[who], j),
            pid[who],
            _pick([c.icd9cm for c in conds], j),
            _pick([c.icd10 for c in conds], j),
            h.onset[who, j],
            "problem-list-item",
        ),
    )
    add(
        "Condition",
        conditions(
            pc.binary_join_element_wise(s_id, "-dx", ""),
            sp,
            stays["diagnosis"],
            np.full(len(sp), ""),
            stays["admit_date"],
            "encounter-diagnosis",
            s_id,
        ),
    )
    hasp = np.nonzero(stays["procedure"] != "")[0]
    s_id_p = s_id.take(pa.array(hasp))
    add(
        "Procedure",
        procedures(
            pc.binary_join_element_wise(s_id_p, "-px", ""),
            sp[hasp],
            stays["procedure"][hasp],
            stays["surgery_date"][hasp],
            s_id_p,
        ),
    )
    lp = pid[labs["person"]]
    l_enc = resource_ids("amb", lp, labs["rx"])
    add(
        "Observation",
        observations(
            pc.binary_join_element_wise(l_enc, "-", _s(labs["loinc"]), ""),
            lp,
            labs["loinc"],
            labs["description"],
            labs["text"],
            labs["unit"],
            labs["day"],
            labs["minute"],
            l_enc,
        ),
    )
    drugs = vocab.drugs()
    d = rx["drug"]
    rp = pid[rx["person"]]
    add(
        "MedicationDispense",
        dispenses(
            resource_ids("md", rx["rx"], rx["line"], rp),
            rp,
            _pick([x.aic for x in drugs], d),
            _pick([x.atc for x in drugs], d),
            _pick([x.product for x in drugs], d),
            rx["qty"],
            rx["day"],
        ),
    )
    return {k: (to_bytes(pa.concat_arrays(v)), sum(len(a) for a in v)) for k, v in out.items()}
