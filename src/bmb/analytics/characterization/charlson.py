"""The Charlson comorbidity index from ICD-10 and ICD-9-CM codes (Quan et al., 2005).

Quan H, et al. *Coding algorithms for defining comorbidities in ICD-9-CM and ICD-10
administrative data.* Med Care 2005;43:1130-9 — the code lists every registry uses,
with Charlson's original weights. Codes match condition source concepts of the ICD-10,
ICD-10-CM and ICD-9-CM vocabularies (Italian discharge records use ICD-9-CM), and the
standard concepts those codes map to (``Maps to``), so a CDM mapped to SNOMED scores
too. Where a mild and a severe form are both present only the severe one counts
(liver disease, diabetes, cancer), as in Quan's and Romano's implementations.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CharlsonCategory:
    """One comorbidity: its weight and the ICD code prefixes that define it."""

    id: int
    name: str
    weight: int
    icd10: tuple[str, ...]
    icd9: tuple[str, ...]
    supersedes: int | None = None  # the milder category this one replaces


def _expand(spec: str) -> tuple[str, ...]:
    """``"I42.5-I42.9 I43"`` into code prefixes without dots (I425 ... I429, I43)."""
    out: list[str] = []
    for part in spec.split():
        if "-" not in part:
            out.append(part.replace(".", ""))
            continue
        lo, hi = (p.replace(".", "") for p in part.split("-"))
        stem = 0
        while stem < min(len(lo), len(hi)) and lo[stem] == hi[stem] and not lo[stem].isdigit():
            stem += 1
        head, a, b = lo[:stem], lo[stem:], hi[stem:]
        if len(a) != len(b) or hi[:stem] != head:
            raise ValueError(f"range {part!r}: both ends need the same form")
        width = len(a)
        out.extend(f"{head}{n:0{width}d}" for n in range(int(a), int(b) + 1))
    return tuple(out)


def _cat(
    cid: int, name: str, weight: int, icd10: str, icd9: str, supersedes: int | None = None
) -> CharlsonCategory:
    return CharlsonCategory(cid, name, weight, _expand(icd10), _expand(icd9), supersedes)


CATEGORIES: tuple[CharlsonCategory, ...] = (
    _cat(1, "Myocardial infarction", 1, "I21 I22 I25.2", "410 412"),
    _cat(
        2,
        "Congestive heart failure",
        1,
        "I09.9 I11.0 I13.0 I13.2 I25.5 I42.0 I42.5-I42.9 I43 I50 P29.0",
        "398.91 402.01 402.11 402.91 404.01 404.03 404.11 404.13 404.91 404.93 425.4-425.9 428",
    ),
    _cat(
        3,
        "Peripheral vascular disease",
        1,
        "I70 I71 I73.1 I73.8 I73.9 I77.1 I79.0 I79.2 K55.1 K55.8 K55.9 Z95.8 Z95.9",
        "093.0 437.3 440 441 443.1-443.9 447.1 557.1 557.9 V43.4",
    ),
    _cat(4, "Cerebrovascular disease", 1, "G45 G46 H34.0 I60-I69", "362.34 430-438"),
    _cat(5, "Dementia", 1, "F00-F03 F05.1 G30 G31.1", "290 294.1 331.2"),
    _cat(
        6,
        "Chronic pulmonary disease",
        1,
        "I27.8 I27.9 J40-J47 J60-J67 J68.4 J70.1 J70.3",
        "416.8 416.9 490-505 506.4 508.1 508.8",
    ),
    _cat(
        7,
        "Rheumatic disease",
        1,
        "M05 M06 M31.5 M32-M34 M35.1 M35.3 M36.0",
        "446.5 710.0-710.4 714.0-714.2 714.8 725",
    ),
    _cat(8, "Peptic ulcer disease", 1, "K25-K28", "531-534"),
    _cat(
        9,
        "Mild liver disease",
        1,
        "B18 K70.0-K70.3 K70.9 K71.3-K71.5 K71.7 K73 K74 K76.0 K76.2-K76.4 K76.8 K76.9 Z94.4",
        "070.22 070.23 070.32 070.33 070.44 070.54 070.6 070.9 570 571 573.3 573.4 573.8 "
        "573.9 V42.7",
    ),
    _cat(
        10,
        "Diabetes without chronic complication",
        1,
        "E10.0 E10.1 E10.6 E10.8 E10.9 E11.0 E11.1 E11.6 E11.8 E11.9 E12.0 E12.1 E12.6 "
        "E12.8 E12.9 E13.0 E13.1 E13.6 E13.8 E13.9 E14.0 E14.1 E14.6 E14.8 E14.9",
        "250.0-250.3 250.8 250.9",
    ),
    _cat(
        11,
        "Diabetes with chronic complication",
        2,
        "E10.2-E10.5 E10.7 E11.2-E11.5 E11.7 E12.2-E12.5 E12.7 E13.2-E13.5 E13.7 E14.2-E14.5 E14.7",
        "250.4-250.7",
        supersedes=10,
    ),
    _cat(
        12,
        "Hemiplegia or paraplegia",
        2,
        "G04.1 G11.4 G80.1 G80.2 G81 G82 G83.0-G83.4 G83.9",
        "334.1 342 343 344.0-344.6 344.9",
    ),
    _cat(
        13,
        "Renal disease",
        2,
        "I12.0 I13.1 N03.2-N03.7 N05.2-N05.7 N18 N19 N25.0 Z49.0-Z49.2 Z94.0 Z99.2",
        "403.01 403.11 403.91 404.02 404.03 404.12 404.13 404.92 404.93 582 583.0-583.7 585 "
        "586 588.0 V42.0 V45.1 V56",
    ),
    _cat(
        14,
        "Any malignancy, including lymphoma and leukemia, except skin",
        2,
        "C00-C26 C30-C34 C37-C41 C43 C45-C58 C60-C76 C81-C85 C88 C90-C97",
        "140-172 174-194 195.0-195.8 200-208 238.6",
    ),
    _cat(
        15,
        "Moderate or severe liver disease",
        3,
        "I85.0 I85.9 I86.4 I98.2 K70.4 K71.1 K72.1 K72.9 K76.5 K76.6 K76.7",
        "456.0-456.2 572.2-572.8",
        supersedes=9,
    ),
    _cat(16, "Metastatic solid tumor", 6, "C77-C80", "196-199", supersedes=14),
    _cat(17, "AIDS/HIV", 6, "B20-B22 B24", "042-044"),
)

ICD10_VOCABULARIES = ("ICD10", "ICD10CM")
ICD9_VOCABULARIES = ("ICD9CM",)


def prefix_table_sql() -> str:
    """``(category_id, vocabulary_group, prefix)`` rows as an inline relation."""
    rows = []
    for cat in CATEGORIES:
        rows += [f"({cat.id}, 'icd10', '{p}')" for p in cat.icd10]
        rows += [f"({cat.id}, 'icd9', '{p}')" for p in cat.icd9]
    return f"SELECT * FROM (VALUES {', '.join(rows)}) AS cp(category_id, code_system, prefix)"


def category_concepts_sql() -> str:
    """``(category_id, concept_id)``: ICD concepts by code prefix and what they map to."""
    icd10 = ", ".join(f"'{v}'" for v in ICD10_VOCABULARIES)
    icd9 = ", ".join(f"'{v}'" for v in ICD9_VOCABULARIES)
    source = (
        "SELECT DISTINCT cp.category_id, c.concept_id FROM concept c "
        f"JOIN ({prefix_table_sql()}) cp ON ((cp.code_system = 'icd10' "
        f"AND c.vocabulary_id IN ({icd10})) OR (cp.code_system = 'icd9' "
        f"AND c.vocabulary_id IN ({icd9}))) "
        "AND REPLACE(c.concept_code, '.', '') LIKE cp.prefix || '%'"
    )
    return (
        f"SELECT * FROM (WITH S AS ({source}) SELECT category_id, concept_id FROM S UNION "
        "SELECT S.category_id, cr.concept_id_2 AS concept_id FROM S "
        "JOIN concept_relationship cr ON cr.concept_id_1 = S.concept_id "
        "AND cr.relationship_id = 'Maps to' AND cr.invalid_reason IS NULL) CC"
    )


def score_sql(categories: str) -> str:
    """Per-row Charlson score from ``categories`` (row_id, category_id) with hierarchy."""
    superseding = [c for c in CATEGORIES if c.supersedes is not None]
    drop = " ".join(
        f"WHEN k.category_id = {c.supersedes} AND EXISTS (SELECT 1 FROM {categories} k2 "
        f"WHERE k2.row_id = k.row_id AND k2.category_id = {c.id}) THEN 0"
        for c in superseding
    )
    weights = " ".join(f"WHEN k.category_id = {c.id} THEN {c.weight}" for c in CATEGORIES)
    return (
        f"SELECT k.row_id, SUM(CASE {drop} ELSE CASE {weights} ELSE 0 END END) AS score "
        f"FROM {categories} k GROUP BY k.row_id"
    )
