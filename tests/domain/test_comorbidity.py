"""Charlson and Elixhauser code lists and weights against comorbidipy 0.5.0.

comorbidipy (MIT, vvcb/comorbidipy) is an independent implementation of Quan's 2005
ICD-9-CM and ICD-10 codings. Both lists are compared on every real code of the two
classifications (the ICD-9-CM and ICD-10 tables BMB ships), so a list written with
ranges and one written code by code agree when they select the same codes.

Known difference, on purpose: comorbidipy weights AIDS/HIV 2 in Quan's 2011 scheme;
Quan et al. (Am J Epidemiol 2011;173:676, table 2) give 4, which is also what makes the
published maximum of 24 add up. BMB follows the paper.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

import pytest

from bmb.domain.comorbidity import Coding, charlson, charlson_age_points, elixhauser, expand
from bmb.domain.terminology import icd9cm, icd10


def _comorbidipy() -> ModuleType:
    """Import comorbidipy 0.5.0, which names a warning pandas 3 no longer has."""
    import pandas
    import pandas.core.common as pcc

    if not hasattr(pcc, "SettingWithCopyWarning"):
        pcc.SettingWithCopyWarning = getattr(pandas.errors, "SettingWithCopyWarning", Warning)
    return importlib.import_module("comorbidipy")


@pytest.fixture(scope="module")
def reference() -> ModuleType:
    pytest.importorskip("pandas")
    if "comorbidipy" not in sys.modules:
        try:
            return _comorbidipy()
        except ImportError as exc:  # pragma: no cover - dev dependency missing
            pytest.fail(f"comorbidipy 0.5.0 is a dev dependency: {exc}")
    return sys.modules["comorbidipy"]


def _codes(coding: Coding) -> list[str]:
    terms = icd9cm() if coding is Coding.ICD9CM else icd10()
    return [t.code.replace(".", "").upper() for t in terms if "-" not in t.code]


@pytest.mark.parametrize("index", ["charlson", "elixhauser"])
@pytest.mark.parametrize("coding", list(Coding))
def test_code_lists_select_the_same_codes_as_comorbidipy(
    reference: ModuleType, index: str, coding: Coding
) -> None:
    ours = charlson() if index == "charlson" else elixhauser()
    key = f"{index}_{'icd9' if coding is Coding.ICD9CM else 'icd10'}_quan"
    theirs = reference.mapping.mapping[key]
    codes = _codes(coding)
    assert len(codes) > 10_000
    assert {c.code for c in ours.categories} == set(theirs)
    for cat in ours.categories:
        mine = {c for c in codes if c.startswith(cat.prefixes(coding))}
        ref = {c for c in codes if c.startswith(tuple(theirs[cat.code]))}
        assert mine == ref, f"{index} {coding} {cat.code}: {sorted(mine ^ ref)[:10]}"
        assert mine, f"{index} {coding} {cat.code} selects no code"


def test_weights_match_comorbidipy_except_quan_aids(reference: ModuleType) -> None:
    w = reference.weights.weights
    cci, elix = charlson(), elixhauser()
    diffs = []
    for scheme, ref in (("charlson", "charlson"), ("quan2011", "quan")):
        for cat in cci.categories:
            if cat.weights[scheme] != w["charlson_icd9_quan"][ref][cat.code]:
                diffs.append((scheme, cat.code, cat.weights[scheme]))
    for cat in elix.categories:
        assert cat.weights["vw"] == w["elixhauser_icd9_quan"]["vw"][cat.code], cat.code
    assert diffs == [("quan2011", "aids", 4)]


def test_quan2011_maximum_is_24() -> None:
    cci = charlson()
    everything = {c.code for c in cci.categories}
    assert cci.score(everything, "quan2011") == 24
    assert cci.score(everything, "charlson") == 29


def test_severe_forms_supersede_mild_ones() -> None:
    cci = charlson()
    assert cci.score({"diab", "diabwc"}, "charlson") == 2
    assert cci.score({"canc", "metacanc"}, "charlson") == 6
    assert cci.score({"mld", "msld"}, "quan2011") == 4
    assert cci.categories_of("250.41", Coding.ICD9CM) == ["diabwc"]
    assert cci.categories_of("C78.0", Coding.ICD10) == ["metacanc"]


def test_scores_match_comorbidipy_on_sample_patients(reference: ModuleType) -> None:
    import pandas as pd

    patients = {
        1: (["4280", "25040", "1970"], 72),
        2: (["410", "4019"], 55),
        3: (["5712", "5722", "042"], 45),
        4: (["2900", "4912", "7100", "5311"], 85),
    }
    df = pd.DataFrame(
        [{"id": i, "code": c, "age": age} for i, (codes, age) in patients.items() for c in codes]
    )
    for weighting, scheme in (("charlson", "charlson"), ("quan", "quan2011")):
        out = reference.comorbidity(
            df, score="charlson", icd="icd9", variant="quan", weighting=weighting
        )
        got = dict(zip(out["id"], out["comorbidity_score"], strict=True))
        for pid, (codes, _age) in patients.items():
            present = {k for c in codes for k in charlson().categories_of(c, Coding.ICD9CM)}
            mine = charlson().score(present, scheme)
            if scheme == "quan2011" and "aids" in present:
                mine -= 2  # comorbidipy's AIDS weight (see the module docstring)
            assert mine == got[pid], (pid, scheme)
        if weighting == "charlson":
            adj = dict(zip(out["id"], out["age_adj_comorbidity_score"], strict=True))
            for pid, (_, age) in patients.items():
                assert adj[pid] - got[pid] == charlson_age_points(age)


def test_ranges_expand_like_the_papers_tables() -> None:
    assert expand("425.4-425.9") == ("4254", "4255", "4256", "4257", "4258", "4259")
    assert expand("I60-I62 042-044") == ("I60", "I61", "I62", "042", "043", "044")
    with pytest.raises(ValueError, match="same form"):
        expand("I60-J62")
