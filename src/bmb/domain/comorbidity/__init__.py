"""Comorbidity indices as data: Charlson and Elixhauser categories, codes and weights.

* **Charlson** (Charlson et al., *J Chronic Dis* 1987) with the ICD-9-CM and ICD-10
  coding algorithms of Quan et al. (*Med Care* 2005;43:1130), scored with the original
  1987 weights or Quan's 2011 re-weighting (*Am J Epidemiol* 2011;173:676, maximum 24),
  plus the original age points (one per decade from 50, at most 4).
* **Elixhauser** (Elixhauser et al., *Med Care* 1998) with Quan's 2005 codings, 31
  categories, scored with van Walraven's weights (*Med Care* 2009;47:626).

Codes are written as in the papers' tables (``425.4-425.9``, ``I60-I69``) in
``charlson.csv`` and ``elixhauser.csv``, expanded here into dot-free prefixes that match
a code and everything below it. Where a severe form supersedes a mild one (metastatic
over any malignancy, complicated over uncomplicated diabetes, severe over mild liver
disease) the ``supersedes`` column says so and only the severe one is weighted, as in
Quan's SAS code and the R ``comorbidity`` package.

The lists are checked against an independent implementation, comorbidipy 0.5.0, in
``tests/domain/test_comorbidity.py``; the differences found are documented there.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources


class Coding(StrEnum):
    """Which diagnosis classification a code list is written in."""

    ICD9CM = "icd9cm"
    ICD10 = "icd10"


@dataclass(frozen=True, slots=True)
class Category:
    """One comorbidity of an index: name, code prefixes per coding, weights."""

    code: str  # short name: chf, diabwc, metacanc (as in comorbidipy and R comorbidity)
    name: str
    icd9cm: tuple[str, ...]  # dot-free prefixes
    icd10: tuple[str, ...]
    weights: dict[str, int]  # scheme -> weight
    supersedes: str | None  # the milder category this one replaces in the score

    def prefixes(self, coding: Coding) -> tuple[str, ...]:
        return self.icd9cm if coding is Coding.ICD9CM else self.icd10

    def __hash__(self) -> int:
        return hash(self.code)


@dataclass(frozen=True, slots=True)
class Index:
    """A comorbidity index: its categories and the weighting schemes it offers."""

    name: str
    categories: tuple[Category, ...]
    schemes: tuple[str, ...]

    def category(self, code: str) -> Category:
        for c in self.categories:
            if c.code == code:
                return c
        raise KeyError(code)

    def score(self, present: set[str] | frozenset[str], scheme: str) -> int:
        """The weighted score of a set of present categories, hierarchy applied."""
        superseded = {c.supersedes for c in self.categories if c.code in present}
        return sum(
            c.weights[scheme]
            for c in self.categories
            if c.code in present and c.code not in superseded
        )

    def categories_of(self, code: str, coding: Coding) -> list[str]:
        """Categories a diagnosis code (dots allowed) falls in."""
        bare = code.replace(".", "").upper()
        return [c.code for c in self.categories if bare.startswith(c.prefixes(coding))]


def expand(spec: str) -> tuple[str, ...]:
    """``"425.4-425.9 428 I60-I69"`` into dot-free prefixes (4254 ... 4259, 428, I60 ... I69).

    A range's two ends share their letters and width; the numeric tail is enumerated.
    """
    out: list[str] = []
    for part in spec.split():
        if "-" not in part:
            out.append(part.replace(".", "").upper())
            continue
        lo, hi = (p.replace(".", "").upper() for p in part.split("-"))
        head = 0
        while head < len(lo) and not lo[head].isdigit():
            head += 1
        if len(lo) != len(hi) or lo[:head] != hi[:head] or not hi[head:].isdigit():
            raise ValueError(f"range {part!r}: both ends need the same form")
        width = len(lo) - head
        first, last = int(lo[head:]), int(hi[head:])
        if last < first:
            raise ValueError(f"range {part!r} runs backwards")
        out.extend(f"{lo[:head]}{n:0{width}d}" for n in range(first, last + 1))
    return tuple(out)


def _read(name: str) -> list[dict[str, str]]:
    text = resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


@cache
def charlson() -> Index:
    """Charlson with Quan's 2005 codings; schemes ``charlson`` (1987) and ``quan2011``."""
    cats = tuple(
        Category(
            code=r["category"],
            name=r["name"],
            icd9cm=expand(r["icd9cm"]),
            icd10=expand(r["icd10"]),
            weights={"charlson": int(r["weight_charlson"]), "quan2011": int(r["weight_quan2011"])},
            supersedes=r["supersedes"] or None,
        )
        for r in _read("charlson.csv")
    )
    return Index("charlson", cats, ("charlson", "quan2011"))


@cache
def elixhauser() -> Index:
    """Elixhauser with Quan's 2005 codings; scheme ``vw`` (van Walraven 2009)."""
    cats = tuple(
        Category(
            code=r["category"],
            name=r["name"],
            icd9cm=expand(r["icd9cm"]),
            icd10=expand(r["icd10"]),
            weights={"vw": int(r["weight_vw"])},
            supersedes=r["supersedes"] or None,
        )
        for r in _read("elixhauser.csv")
    )
    return Index("elixhauser", cats, ("vw",))


def charlson_age_points(age: int) -> int:
    """Charlson's age points: 1 for each decade over 40 (50-59: 1 ... 80 and over: 4)."""
    return max(0, min(4, (age - 40) // 10))


__all__ = [
    "Category",
    "Coding",
    "Index",
    "charlson",
    "charlson_age_points",
    "elixhauser",
    "expand",
]
