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
from bmb.synth.lines import EPOCH, _date_table, _time_table

Table = dict[str, np.ndarray]
CF_SYSTEM = "http://hl7.it/sid/codiceFiscale"
STP_SYSTEM = "http://hl7.it/sid/stp"
ENI_SYSTEM = "http://hl7.it/sid/eni"


def _s(values: Any) -> pa.Array:
    arr = np.asarray(values)
    if arr.dtype.kind == "S":
        arr = arr.astype("U")
    return pa.array(arr.astype(str))


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
    ids: np.ndarray,
    cls: str,
    display: str,
    person_ids: np.ndarray,
    start_day: np.ndarray,
    start_min: np.ndarray,
    end_day: np.ndarray,
    end_min: np.ndarray,
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
    ids: np.ndarray,
    person_ids: np.ndarray,
    icd9: np.ndarray,
    icd10: np.ndarray,
    onset: np.ndarray,
    category: str,
    encounter: np.ndarray | None = None,
) -> pa.Array:
    enc: Any = ""
    if encounter is not None:
        enc = pc.binary_join_element_wise(
            ',"encounter":{"reference":"Encounter/', _s(encounter), '"}', ""
        )
    coding10 = pc.if_else(
        pa.array(np.asarray(icd10) != ""),
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
    ids: np.ndarray,
    person_ids: np.ndarray,
    code: np.ndarray,
    day: np.ndarray,
    encounter: np.ndarray,
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
    ids: np.ndarray,
    person_ids: np.ndarray,
    loinc: np.ndarray,
    description: np.ndarray,
    value_text: np.ndarray,
    unit: np.ndarray,
    day: np.ndarray,
    minute: np.ndarray,
    encounter: np.ndarray,
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
    ids: np.ndarray,
    person_ids: np.ndarray,
    aic: np.ndarray,
    atc: np.ndarray,
    product: np.ndarray,
    qty: np.ndarray,
    day: np.ndarray,
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
