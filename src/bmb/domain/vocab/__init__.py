"""Code tables BMB ships: the codes the synthetic region emits and the lake maps.

Each table is a CSV file in this package, one clean table per file (code, system,
English description, attributes), read with :mod:`importlib.resources` (ADR 0002).
The synthetic region draws its codes from here, and the lake turns the codes that
have no OHDSI standard concept (exemptions, outpatient catalogue codes, AIC drug
codes) into local concepts, so both sides speak the same vocabulary.

Tables:

- ``conditions.csv``: the chronic conditions the synthetic region models, with their
  ICD-9-CM and ICD-10 codes, drug classes (ATC) and exemption code.
- ``drugs.csv``: the AIC-to-ATC table. No AIFA table is available offline, so the
  9-digit AIC codes are **synthetic** (``synthetic`` = 1); ATC codes, product names and
  WHO defined daily doses are real.
- ``outpatient.csv``: outpatient catalogue codes (with dots) used, lab tests marked.
- ``labs.csv``: LOINC codes of lab tests with UCUM units and reference ranges.
- ``diagnoses.csv`` / ``procedures.csv``: ICD-9-CM diagnosis and procedure codes used.
- ``death_causes.csv``: ICD-10 (WHO) underlying causes of death used.
- ``exemptions.csv``: disease exemption codes (DPCM 12/1/2017 Annex 8), verified or not.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from importlib import resources

ICD9CM = "http://hl7.org/fhir/sid/icd-9-cm"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
LOINC = "http://loinc.org"
ATC = "http://www.whocc.no/atc"
AIC = "http://terminology.hl7.it/sid/aic"
UCUM = "http://unitsofmeasure.org"
#: BMB's own URI for the Italian outpatient catalogue (nomenclatore tariffario).
OUTPATIENT_CATALOGUE = "urn:bmb:it:nomenclatore-specialistica"
#: BMB's own URI for disease exemption codes.
EXEMPTION = "urn:bmb:it:esenzioni"


@dataclass(frozen=True, slots=True)
class Condition:
    """A chronic condition of the synthetic region and its codes."""

    condition: str
    description: str
    icd9cm: str  # the code emitted, with dot
    icd9cm_prefixes: tuple[str, ...]  # codes (with dot) that identify it, prefix match
    icd10: str
    atc: tuple[str, ...]  # drug classes treating it, first is first line
    exemption: str  # "" when the condition gives no exemption
    group: str


@dataclass(frozen=True, slots=True)
class Drug:
    """One pack of a medicinal product: its AIC code and what it contains."""

    aic: str
    synthetic: bool
    atc: str
    product: str
    strength: str
    pack_units: int
    ddd: float | None
    ddd_unit: str
    ddd_per_pack: float | None
    price: float


@dataclass(frozen=True, slots=True)
class OutpatientService:
    """A code of the outpatient catalogue (nomenclatore della specialistica)."""

    code: str
    description: str
    branch: str  # specialty branch (DM 22/7/1996)
    kind: str  # visit, procedure, imaging, sampling, lab
    loinc: str  # lab tests only
    tariff: float
    verified: bool

    @property
    def is_lab(self) -> bool:
        return self.kind == "lab"


@dataclass(frozen=True, slots=True)
class LabTest:
    """A lab test's LOINC code, UCUM unit and adult reference range."""

    loinc: str
    description: str
    unit: str
    low: float
    high: float
    catalogue: str
    decimals: int


@dataclass(frozen=True, slots=True)
class Code:
    """A plain code of a code system with its English description."""

    code: str
    system: str
    description: str
    kind: str = ""
    condition: str = ""


@dataclass(frozen=True, slots=True)
class Exemption:
    """A disease exemption code and the conditions it covers."""

    code: str
    description: str
    conditions: tuple[str, ...]
    verified: bool


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files(__name__).joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def _split(value: str) -> tuple[str, ...]:
    return tuple(v for v in value.split("|") if v)


def _float(value: str) -> float | None:
    return float(value) if value else None


@cache
def conditions() -> tuple[Condition, ...]:
    """The chronic conditions, in a stable order (the synthetic region's column order)."""
    return tuple(
        Condition(
            condition=r["condition"],
            description=r["description"],
            icd9cm=r["icd9cm"],
            icd9cm_prefixes=_split(r["icd9cm_prefixes"]),
            icd10=r["icd10"],
            atc=_split(r["atc"]),
            exemption=r["exemption"],
            group=r["chronic_group"],
        )
        for r in _rows("conditions.csv")
    )


@cache
def drugs() -> tuple[Drug, ...]:
    """The AIC-to-ATC table (synthetic AIC codes, real ATC codes and DDDs)."""
    return tuple(
        Drug(
            aic=r["aic"],
            synthetic=r["synthetic"] == "1",
            atc=r["atc"],
            product=r["product"],
            strength=r["strength"],
            pack_units=int(r["pack_units"]),
            ddd=_float(r["ddd"]),
            ddd_unit=r["ddd_unit"],
            ddd_per_pack=_float(r["ddd_per_pack"]),
            price=float(r["price"]),
        )
        for r in _rows("drugs.csv")
    )


@cache
def outpatient_services() -> tuple[OutpatientService, ...]:
    """The outpatient catalogue codes used, lab tests marked by ``kind == 'lab'``."""
    return tuple(
        OutpatientService(
            code=r["code"],
            description=r["description"],
            branch=r["branch"],
            kind=r["kind"],
            loinc=r["loinc"],
            tariff=float(r["tariff"]),
            verified=r["verified"] == "V",
        )
        for r in _rows("outpatient.csv")
    )


@cache
def lab_tests() -> tuple[LabTest, ...]:
    """Lab tests with LOINC code, UCUM unit and reference range."""
    return tuple(
        LabTest(
            loinc=r["loinc"],
            description=r["description"],
            unit=r["unit"],
            low=float(r["low"]),
            high=float(r["high"]),
            catalogue=r["catalogue"],
            decimals=int(r["decimals"]),
        )
        for r in _rows("labs.csv")
    )


@cache
def diagnoses() -> tuple[Code, ...]:
    """ICD-9-CM diagnosis codes used (with dot)."""
    return tuple(
        Code(r["code"], ICD9CM, r["description"], kind=r["kind"]) for r in _rows("diagnoses.csv")
    )


@cache
def procedures() -> tuple[Code, ...]:
    """ICD-9-CM procedure codes used (with dot)."""
    return tuple(Code(r["code"], ICD9CM, r["description"]) for r in _rows("procedures.csv"))


@cache
def death_causes() -> tuple[Code, ...]:
    """ICD-10 underlying causes of death used, with the condition they follow from."""
    return tuple(
        Code(r["code"], ICD10, r["description"], condition=r["condition"])
        for r in _rows("death_causes.csv")
    )


@cache
def exemptions() -> tuple[Exemption, ...]:
    """Disease exemption codes; ``verified`` is False for codes tagged [M] in the reference."""
    return tuple(
        Exemption(r["code"], r["description"], _split(r["condition"]), r["verified"] == "V")
        for r in _rows("exemptions.csv")
    )


__all__ = [
    "AIC",
    "ATC",
    "EXEMPTION",
    "ICD9CM",
    "ICD10",
    "LOINC",
    "OUTPATIENT_CATALOGUE",
    "UCUM",
    "Code",
    "Condition",
    "Drug",
    "Exemption",
    "LabTest",
    "OutpatientService",
    "conditions",
    "death_causes",
    "diagnoses",
    "drugs",
    "exemptions",
    "lab_tests",
    "outpatient_services",
    "procedures",
]
