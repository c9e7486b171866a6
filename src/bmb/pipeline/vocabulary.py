"""The vocabulary a new lake ships with: local concepts for every code BMB maps.

Without an OHDSI (Athena) download the lake still needs concept ids: BMB mints local
concepts (ids at or above 2,000,000,000) for ICD-9-CM, ICD-9-CM procedures, ICD-10,
ATC, AIC drug packs, LOINC, the outpatient catalogue, exemption codes and UCUM units,
with their hierarchies in ``concept_ancestor`` so that "this code and its descendants"
works in cohorts. They are marked standard in their own vocabularies until ``bmb vocab
load`` brings the OHDSI ones and maps the codes to OHDSI standard concepts (ADR 0005).

A local id is stable: a vocabulary's block plus a hash of the code, probed on
collision, so the same code gets the same id in every lake and every release.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

import pyarrow as pa

from bmb.domain import concepts as std
from bmb.domain import vocab
from bmb.domain.cdm import LOCAL_CONCEPT_BASE
from bmb.domain.terminology import icd9cm, icd10
from bmb.domain.terminology.atc import ATC_CLASSES, atc_levels

#: Each local vocabulary's block of ten million ids.
BLOCKS: dict[str, int] = {
    "ICD9CM": 0,
    "ICD9Proc": 1,
    "ICD10": 2,
    "ATC": 3,
    "AIC": 4,
    "LOINC": 5,
    "IT_CATALOGUE": 6,
    "IT_EXEMPTION": 7,
    "UCUM": 8,
    "BMB": 9,
    # vocabularies FHIR brings: codes are minted as met at ingestion (bmb.pipeline.fhir)
    "SNOMED": 10,
    "RxNorm": 11,
    "CVX": 12,
    "ICD10CM": 13,
    "NDC": 14,
}
BLOCK_SIZE = 10_000_000

VOCABULARIES: dict[str, str] = {
    "ICD9CM": "ICD-9-CM diagnoses (Italian 2007 edition)",
    "ICD9Proc": "ICD-9-CM procedures (Italian 2007 edition)",
    "ICD10": "ICD-10 (WHO)",
    "ATC": "WHO Anatomical Therapeutic Chemical classification",
    "AIC": "AIFA marketing authorisation codes (Italian drug packs)",
    "LOINC": "LOINC",
    "IT_CATALOGUE": "Italian outpatient services catalogue (nomenclatore)",
    "IT_EXEMPTION": "Italian disease-based ticket exemptions (DPCM 12/1/2017)",
    "UCUM": "UCUM units",
    "BMB": "BMB local concepts",
    "SNOMED": "SNOMED CT (codes met in FHIR data, until an OHDSI vocabulary is loaded)",
    "RxNorm": "RxNorm (codes met in FHIR data, until an OHDSI vocabulary is loaded)",
    "CVX": "CDC vaccine codes (codes met in FHIR data, until an OHDSI vocabulary is loaded)",
    "ICD10CM": "ICD-10-CM (codes met in FHIR data, until an OHDSI vocabulary is loaded)",
    "NDC": "US National Drug Codes (codes met in FHIR data)",
}

#: BMB's own local concepts (code -> name, domain): things no vocabulary names.
BMB_CONCEPTS: dict[str, tuple[str, str]] = {
    "ED_TRIAGE": ("Emergency department triage code", "Observation"),
    "EXEMPTION": ("Disease-based ticket exemption", "Observation"),
    "WARD": ("Hospital ward (discipline)", "Visit"),
}


@dataclass(frozen=True, slots=True)
class LocalConcept:
    concept_id: int
    vocabulary_id: str
    concept_code: str
    concept_name: str
    domain_id: str
    concept_class_id: str
    parent_code: str = ""


class _Minter:
    """Stable ids: block + hash of the code, probing past collisions."""

    def __init__(self) -> None:
        self.taken: dict[int, tuple[str, str]] = {}

    def mint(self, vocabulary: str, code: str) -> int:
        base = LOCAL_CONCEPT_BASE + BLOCKS[vocabulary] * BLOCK_SIZE
        h = int.from_bytes(hashlib.sha256(f"{vocabulary}:{code}".encode()).digest()[:8], "big")
        offset = h % BLOCK_SIZE
        while True:
            cid = base + offset
            owner = self.taken.get(cid)
            if owner is None or owner == (vocabulary, code):
                self.taken[cid] = (vocabulary, code)
                return cid
            offset = (offset + 1) % BLOCK_SIZE


def mint_local(
    codes: Iterable[tuple[str, str]], taken: dict[int, tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """Ids for (vocabulary, code) pairs met at ingestion, by the same rule as at init.

    ``taken`` holds the local ids already used in the vocabularies concerned, so a
    collision probes past them exactly as :func:`local_concepts` does.
    """
    m = _Minter()
    m.taken = dict(taken)
    return {(voc, code): m.mint(voc, code) for voc, code in codes}


def local_concepts() -> list[LocalConcept]:
    """Every local concept BMB ships, parents before children within a vocabulary."""
    m = _Minter()
    out: list[LocalConcept] = []

    def add(voc: str, code: str, name: str, domain: str, klass: str, parent: str = "") -> None:
        out.append(LocalConcept(m.mint(voc, code), voc, code, name[:255], domain, klass, parent))

    for t in icd9cm():
        klass = {"chapter": "ICD9CM chapter", "block": "ICD9CM block"}.get(
            t.kind, "3-dig nonbill code" if t.kind == "category" else f"{len(t.code) - 1}-dig code"
        )
        add("ICD9CM", t.code, t.description, "Condition", klass, t.parent)
    for p in vocab.procedures():
        add("ICD9Proc", p.code, p.description, "Procedure", "ICD9Proc code")
    for t in icd10():
        klass = {"chapter": "ICD10 Chapter", "block": "ICD10 Hierarchy"}.get(t.kind, "ICD10 code")
        add("ICD10", t.code, t.description, "Condition", klass, t.parent)
    atc_seen: set[str] = set()
    for d in vocab.drugs():
        for level in atc_levels(d.atc):
            if level in atc_seen:
                continue
            atc_seen.add(level)
            name = d.product.title() if level == d.atc else ATC_CLASSES.get(level, f"ATC {level}")
            parent = atc_levels(level)[-2] if len(atc_levels(level)) > 1 else ""
            add("ATC", level, name, "Drug", f"ATC {len(atc_levels(level))}th", parent)
    for d in vocab.drugs():
        name = f"{d.product} {d.strength}".strip()
        add("AIC", d.aic, name, "Drug", "Drug pack", d.atc)
    units: set[str] = set()
    for lab in vocab.lab_tests():
        add("LOINC", lab.loinc, lab.description, "Measurement", "Lab Test")
        units.add(lab.unit)
    for u in sorted(units):
        add("UCUM", u, u, "Unit", "Unit")
    for s in vocab.outpatient_services():
        domain = "Measurement" if s.is_lab else "Procedure"
        add("IT_CATALOGUE", s.code, s.description, domain, f"Catalogue {s.kind}")
    for e in vocab.exemptions():
        add("IT_EXEMPTION", e.code, e.description, "Observation", "Exemption")
    for code, (name, domain) in BMB_CONCEPTS.items():
        add("BMB", code, name, domain, "BMB concept")
    return out


def _ancestors(concepts: Iterable[LocalConcept]) -> list[tuple[int, int, int]]:
    """(ancestor, descendant, levels) for every concept and each of its ancestors."""
    by_key = {(c.vocabulary_id, c.concept_code): c for c in concepts}
    parent_voc = {"AIC": "ATC"}
    rows: list[tuple[int, int, int]] = []
    for c in by_key.values():
        rows.append((c.concept_id, c.concept_id, 0))
        level = 0
        node = c
        seen = {c.concept_id}
        while node.parent_code:
            parent = by_key.get(
                (parent_voc.get(node.vocabulary_id, node.vocabulary_id), node.parent_code)
            )
            if parent is None or parent.concept_id in seen:
                break
            level += 1
            seen.add(parent.concept_id)
            rows.append((parent.concept_id, c.concept_id, level))
            node = parent
    return rows


def vocabulary_tables() -> dict[str, pa.Table]:
    """The vocabulary tables of a new lake, by qualified name."""
    concepts = local_concepts()
    valid_start, valid_end = dt.date(1970, 1, 1), dt.date(2099, 12, 31)
    seeds = [(cid, std.NAMES[cid], dom, voc, klass) for cid, (dom, voc, klass) in std.SEED.items()]
    concept_rows = [
        {
            "concept_id": c.concept_id,
            "concept_name": c.concept_name,
            "domain_id": c.domain_id,
            "vocabulary_id": c.vocabulary_id,
            "concept_class_id": c.concept_class_id[:20],
            "standard_concept": "S"
            if not c.concept_class_id.endswith(("chapter", "block"))
            else "C",
            "concept_code": c.concept_code,
            "valid_start_date": valid_start,
            "valid_end_date": valid_end,
        }
        for c in concepts
    ] + [
        {
            "concept_id": cid,
            "concept_name": name,
            "domain_id": dom,
            "vocabulary_id": voc,
            "concept_class_id": klass,
            "standard_concept": "S",
            "concept_code": str(cid),
            "valid_start_date": valid_start,
            "valid_end_date": valid_end,
        }
        for cid, name, dom, voc, klass in seeds
    ]
    anc = _ancestors(concepts)
    ancestor = pa.table(
        {
            "ancestor_concept_id": [a for a, _, _ in anc],
            "descendant_concept_id": [d for _, d, _ in anc],
            "min_levels_of_separation": [lv for _, _, lv in anc],
            "max_levels_of_separation": [lv for _, _, lv in anc],
        }
    )
    by_key = {(c.vocabulary_id, c.concept_code): c for c in concepts}
    rel_rows: list[dict[str, object]] = []
    for c in concepts:
        voc = "ATC" if c.vocabulary_id == "AIC" else c.vocabulary_id
        parent = by_key.get((voc, c.parent_code)) if c.parent_code else None
        if parent is not None:
            for a, b, rel in ((c, parent, "Is a"), (parent, c, "Subsumes")):
                rel_rows.append(
                    {
                        "concept_id_1": a.concept_id,
                        "concept_id_2": b.concept_id,
                        "relationship_id": rel,
                        "valid_start_date": valid_start,
                        "valid_end_date": valid_end,
                    }
                )
    vocab_rows = [
        {
            "vocabulary_id": vid,
            "vocabulary_name": name,
            "vocabulary_reference": "BMB",
            "vocabulary_version": "BMB local",
            "vocabulary_concept_id": LOCAL_CONCEPT_BASE + BLOCKS[vid] * BLOCK_SIZE,
        }
        for vid, name in VOCABULARIES.items()
    ]
    local = pa.Table.from_pylist(
        [
            {
                "concept_id": c.concept_id,
                "vocabulary_id": c.vocabulary_id,
                "concept_code": c.concept_code,
                "concept_name": c.concept_name,
                "domain_id": c.domain_id,
                "concept_class_id": c.concept_class_id[:20],
            }
            for c in concepts
        ]
    )
    return {
        "cdm.concept": pa.Table.from_pylist(concept_rows),
        "cdm.concept_ancestor": ancestor,
        "cdm.concept_relationship": pa.Table.from_pylist(rel_rows),
        "cdm.vocabulary": pa.Table.from_pylist(vocab_rows),
        "bmb.local_concept": local,
    }
