"""Code lists of the Italian flows, as published (see docs/reference/flows.md).

Each list maps a code to its English meaning. Lists marked [M] in the project's
reference were not checked against a primary source; they are kept here, in one
place, so that a steward can correct them without touching any reader.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

Codes = MappingProxyType

#: Sex as coded in SDO and EMUR (1 male, 2 female, 9 unknown).
SEX: Final = Codes({"1": "male", "2": "female", "9": "unknown"})

#: Kind of patient identifier (EMUR ``AssistitoTipologiaCI``).
ID_TYPE: Final = Codes(
    {
        "0": "codice fiscale",
        "1": "STP (temporarily present foreigner)",
        "2": "ENI (EU citizen not registered)",
        "3": "TEAM (European health insurance card)",
        "4": "provisional fiscal code",
        "97": "anonymous by law",
        "98": "anonymous",
        "99": "unknown",
    }
)

#: SDO care setting (regime di ricovero).
SDO_REGIME: Final = Codes({"1": "ordinary admission", "2": "day hospital"})

#: SDO admission type (tipo di ricovero) [V].
SDO_ADMISSION_TYPE: Final = Codes(
    {
        "1": "planned",
        "2": "urgent",
        "3": "compulsory treatment (TSO)",
        "4": "planned with pre-admission work-up",
    }
)

#: SDO discharge mode (modalita di dimissione), DM 380/2000 coding [V].
SDO_DISCHARGE_MODE: Final = Codes(
    {
        "1": "died",
        "2": "home",
        "3": "nursing home (RSA)",
        "4": "hospital at home",
        "5": "self-discharge",
        "6": "transfer to another acute hospital",
        "7": "change of setting in the same hospital",
        "8": "transfer to rehabilitation",
        "9": "home care (ADI)",
    }
)

#: SDO source of admission (provenienza) [M].
SDO_SOURCE: Final = Codes(
    {
        "1": "referral by GP",
        "2": "emergency department",
        "3": "transfer from a public hospital",
        "4": "transfer from a private hospital",
        "5": "transfer from another setting of the same hospital",
        "6": "referral by a specialist",
        "7": "from a nursing home",
        "9": "other",
    }
)

#: SDO payer (onere della degenza) [M].
SDO_PAYER: Final = Codes(
    {
        "1": "SSN",
        "2": "SSN with private room surcharge",
        "4": "private, patient pays",
        "7": "SSN, foreign patient (EU)",
        "9": "other",
    }
)

#: SDO priority class of a planned admission (classe di priorita) [M].
SDO_PRIORITY: Final = Codes(
    {"A": "within 30 days", "B": "within 60 days", "C": "within 180 days", "D": "within 12 months"}
)

#: Present-on-admission flag of a diagnosis [M].
POA: Final = Codes({"1": "present on admission", "0": "arose during the stay", "9": "unknown"})

#: Ward discipline codes (disciplina, DM 5/12/2006) used by BMB [V for the examples].
DISCIPLINE: Final = Codes(
    {
        "08": "cardiology",
        "09": "general surgery",
        "13": "thoracic surgery",
        "14": "vascular surgery",
        "21": "geriatrics",
        "24": "infectious diseases",
        "26": "general medicine",
        "29": "nephrology",
        "30": "neurosurgery",
        "31": "newborn nursery",
        "32": "neurology",
        "34": "ophthalmology",
        "36": "orthopaedics and traumatology",
        "37": "obstetrics and gynaecology",
        "39": "paediatrics",
        "40": "psychiatry",
        "43": "urology",
        "49": "intensive care",
        "50": "coronary unit",
        "56": "rehabilitation",
        "58": "gastroenterology",
        "60": "long-term care",
        "64": "oncology",
        "68": "respiratory medicine",
        "28": "spinal unit",
        "75": "neurorehabilitation",
    }
)

#: EMUR arrival mode (ModalitaArrivo) [V].
ED_ARRIVAL: Final = Codes(
    {
        "1": "118 ambulance",
        "2": "other ambulance",
        "3": "own means",
        "4": "118 helicopter",
        "5": "other helicopter",
        "6": "118 from another region",
        "7": "other",
        "9": "not recorded",
    }
)

#: EMUR referral (ResponsabileInvio) [V].
ED_REFERRAL: Final = Codes(
    {
        "1": "GP or family paediatrician",
        "2": "out-of-hours doctor",
        "3": "specialist",
        "4": "transfer from another hospital",
        "5": "118",
        "6": "own decision",
        "7": "prison",
        "9": "other",
    }
)

#: EMUR triage: the colour codes and the newer 1-5 scale [V].
ED_TRIAGE: Final = Codes(
    {
        "R": "red",
        "G": "yellow",
        "V": "green",
        "B": "white",
        "N": "black",
        "X": "not triaged",
        "1": "emergency (red)",
        "2": "urgent (orange)",
        "3": "deferrable urgent (light blue)",
        "4": "minor urgent (green)",
        "5": "non-urgent (white)",
    }
)

#: EMUR treatment outcome (EsitoTrattamento) [V for 1, 2, 3, 4, 6, 10; the rest M].
ED_OUTCOME: Final = Codes(
    {
        "1": "discharged home",
        "2": "admitted",
        "3": "transferred to another hospital",
        "4": "died in the ED",
        "5": "refused admission",
        "6": "left before being seen",
        "7": "left during the visit",
        "8": "left against medical advice",
        "9": "sent to a GP or outpatient service",
        "10": "short observation (OBI)",
        "11": "dead on arrival",
    }
)

#: EMUR main problem at triage (Table E), subset used by BMB [M].
ED_PROBLEM: Final = Codes(
    {
        "01": "respiratory distress",
        "02": "chest pain",
        "03": "abdominal pain",
        "04": "neurological symptoms",
        "05": "psychiatric symptoms",
        "06": "fever",
        "07": "poisoning",
        "08": "other symptoms",
        "09": "gynaecological problem",
        "10": "trauma",
        "11": "cardiac arrhythmia",
        "12": "hypertension",
        "13": "allergic reaction",
        "14": "eye problem",
        "15": "ENT problem",
        "16": "dermatological problem",
        "17": "urological problem",
        "18": "shock",
        "19": "coma",
        "20": "haemorrhage",
        "99": "other",
    }
)

#: EMUR payer [V].
ED_PAYER: Final = Codes(
    {"1": "SSN", "2": "SSN with ticket", "3": "Ministry of Health", "9": "other"}
)

#: Flusso D ticket position [V].
PHARMACY_TICKET: Final = Codes({"1": "exempt", "2": "not exempt", "3": "per-prescription fee"})

#: Flusso D / Flusso C accounting position [V].
ACCOUNTING_POSITION: Final = Codes(
    {
        "1": "first submission",
        "3": "late submission",
        "4": "rejected",
        "5": "contested",
        "A": "counter-claim A",
        "B": "counter-claim B",
        "C": "counter-claim C",
    }
)

#: Flusso D transmission kind [V].
TRANSMISSION: Final = Codes(
    {"1": "first", "2": "supplement", "3": "replacement", "4": "correction", "5": "deletion"}
)

#: Flusso C prescriber type [V].
PRESCRIBER_TYPE: Final = Codes(
    {
        "F": "general practitioner",
        "P": "family paediatrician",
        "H": "hospital doctor",
        "A": "specialist",
        "G": "out-of-hours doctor",
        "T": "tourist out-of-hours doctor",
        "C": "accredited private doctor",
        "U": "university hospital doctor",
        "D": "ASL employee",
        "Z": "other",
        "W": "other region",
        "X": "emergency department",
        "Y": "addiction service",
    }
)

#: Flusso C priority of an outpatient prescription [V].
OUTPATIENT_PRIORITY: Final = Codes(
    {
        "U": "urgent (72 hours)",
        "B": "short (10 days)",
        "D": "deferrable (30/60 days)",
        "P": "planned (120 days)",
        "Z": "not stated",
    }
)

#: Flusso C access mode [V for 10-15].
OUTPATIENT_ACCESS_MODE: Final = Codes(
    {
        "10": "SSN prescription",
        "11": "add-on service",
        "12": "screening invitation",
        "13": "art. 26",
        "14": "home",
        "15": "private practice",
    }
)

#: Flusso C access type [V].
OUTPATIENT_ACCESS_TYPE: Final = Codes({"0": "not stated", "1": "first visit", "2": "follow-up"})

#: Flusso C exemption type [V].
EXEMPTION_TYPE: Final = Codes(
    {
        "0": "other",
        "1": "not exempt",
        "2": "status",
        "3": "disease",
        "6": "income",
        "7": "income and other",
        "A": "self-pay",
    }
)

#: Flusso C payer [V].
OUTPATIENT_PAYER: Final = Codes(
    {
        "1": "SSN",
        "2": "Ministry (seafarers, aviation)",
        "3": "foreign institution",
        "4": "self-pay",
    }
)

#: Registry: why health-service coverage ended [M].
COVERAGE_END: Final = Codes({"1": "death", "2": "moved out of the region", "3": "other"})

#: Deaths: place of death [M].
DEATH_PLACE: Final = Codes(
    {"1": "hospital", "2": "home", "3": "nursing home", "4": "hospice", "9": "other"}
)

#: Labs: abnormal flag.
LAB_FLAG: Final = Codes({"N": "normal", "H": "high", "L": "low"})

#: Education (titolo di studio) [M].
EDUCATION: Final = Codes(
    {
        "0": "none",
        "1": "primary school",
        "2": "lower secondary",
        "3": "upper secondary",
        "4": "short university degree",
        "5": "university degree",
        "6": "post-graduate",
        "9": "unknown",
    }
)

#: Marital status [M].
MARITAL_STATUS: Final = Codes(
    {
        "1": "single",
        "2": "married",
        "3": "separated",
        "4": "divorced",
        "5": "widowed",
        "6": "not stated",
    }
)


def keys(codes: MappingProxyType[str, str]) -> frozenset[str]:
    """The allowed codes of a list, for a layout field."""
    return frozenset(codes)
