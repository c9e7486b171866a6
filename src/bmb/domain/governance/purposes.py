"""Purposes of secondary use: the EHDS list, and the uses it forbids.

Regulation (EU) 2025/327 (the European Health Data Space) lists, exhaustively, the
purposes for which electronic health data may be processed for secondary use
(Article 53(1), points (a) to (f)) and the uses that are prohibited whatever the
purpose (Article 54). A permit names exactly one allowed purpose; an application that
states a prohibited use is refused with the article that forbids it, so the refusal
is explainable to the applicant and to the DPO.

Purposes (a) to (c) are reserved for public-sector bodies and Union institutions
(Article 53(2)); BMB checks that against the project's applicant.
"""

from __future__ import annotations

from enum import StrEnum


class Purpose(StrEnum):
    """An allowed purpose of secondary use (EHDS Article 53(1))."""

    PUBLIC_HEALTH = "public_health"
    POLICY = "policy"
    OFFICIAL_STATISTICS = "official_statistics"
    EDUCATION = "education"
    SCIENTIFIC_RESEARCH = "scientific_research"
    IMPROVING_CARE = "improving_care"

    @property
    def article(self) -> str:
        return f"EHDS Art. 53(1)({_LETTER[self]})"

    @property
    def description(self) -> str:
        return _DESCRIPTION[self]

    @property
    def public_bodies_only(self) -> bool:
        """Purposes (a)-(c) may be pursued only by public-sector bodies (Art. 53(2))."""
        return self in (Purpose.PUBLIC_HEALTH, Purpose.POLICY, Purpose.OFFICIAL_STATISTICS)


_LETTER = {
    Purpose.PUBLIC_HEALTH: "a",
    Purpose.POLICY: "b",
    Purpose.OFFICIAL_STATISTICS: "c",
    Purpose.EDUCATION: "d",
    Purpose.SCIENTIFIC_RESEARCH: "e",
    Purpose.IMPROVING_CARE: "f",
}

_DESCRIPTION = {
    Purpose.PUBLIC_HEALTH: "public interest in public or occupational health",
    Purpose.POLICY: "policy-making and regulatory activities of public-sector bodies",
    Purpose.OFFICIAL_STATISTICS: "official statistics",
    Purpose.EDUCATION: "education or teaching in the health or care sectors",
    Purpose.SCIENTIFIC_RESEARCH: (
        "scientific research in the health or care sectors, including development and "
        "innovation, and training, testing and evaluating algorithms and AI systems"
    ),
    Purpose.IMPROVING_CARE: "improving the delivery of care and the optimisation of treatment",
}


class ProhibitedUse(StrEnum):
    """A use of health data the EHDS forbids whatever the stated purpose (Art. 54)."""

    DETRIMENTAL_DECISIONS = "detrimental_decisions"
    EMPLOYMENT_INSURANCE_CREDIT = "employment_insurance_credit"
    ADVERTISING_MARKETING = "advertising_marketing"
    HARMFUL_PRODUCTS = "harmful_products"
    UNETHICAL = "unethical"
    REIDENTIFICATION = "reidentification"
    THIRD_PARTY_ACCESS = "third_party_access"

    @property
    def article(self) -> str:
        return _PROHIBITED_ARTICLE[self]


_PROHIBITED_ARTICLE = {
    ProhibitedUse.DETRIMENTAL_DECISIONS: "EHDS Art. 54(a)",
    ProhibitedUse.EMPLOYMENT_INSURANCE_CREDIT: "EHDS Art. 54(b)",
    ProhibitedUse.ADVERTISING_MARKETING: "EHDS Art. 54(c)",
    ProhibitedUse.HARMFUL_PRODUCTS: "EHDS Art. 54(d)",
    ProhibitedUse.UNETHICAL: "EHDS Art. 54(e)",
    ProhibitedUse.REIDENTIFICATION: "EHDS Art. 61(3)",
    ProhibitedUse.THIRD_PARTY_ACCESS: "EHDS Art. 61(2)",
}

#: Words an applicant may use for a prohibited use, mapped to it.
_PROHIBITED_WORDS = {
    "marketing": ProhibitedUse.ADVERTISING_MARKETING,
    "advertising": ProhibitedUse.ADVERTISING_MARKETING,
    "insurance": ProhibitedUse.EMPLOYMENT_INSURANCE_CREDIT,
    "insurance_premiums": ProhibitedUse.EMPLOYMENT_INSURANCE_CREDIT,
    "credit": ProhibitedUse.EMPLOYMENT_INSURANCE_CREDIT,
    "employment": ProhibitedUse.EMPLOYMENT_INSURANCE_CREDIT,
    "hiring": ProhibitedUse.EMPLOYMENT_INSURANCE_CREDIT,
    "reidentification": ProhibitedUse.REIDENTIFICATION,
    "re-identification": ProhibitedUse.REIDENTIFICATION,
}


class PurposeError(ValueError):
    """An unknown or prohibited purpose; the message names the EHDS article."""


def parse_purpose(text: str) -> Purpose:
    """An allowed purpose from its name; prohibited uses are refused with their article."""
    name = text.strip().lower().replace(" ", "_").replace("-", "_")
    try:
        return Purpose(name)
    except ValueError:
        pass
    prohibited = _PROHIBITED_WORDS.get(name)
    if prohibited is None:
        try:
            prohibited = ProhibitedUse(name)
        except ValueError:
            prohibited = None
    if prohibited is not None:
        raise PurposeError(
            f"purpose {text!r} is a prohibited secondary use ({prohibited.article}); "
            "no permit can be granted for it"
        )
    allowed = ", ".join(p.value for p in Purpose)
    raise PurposeError(f"unknown purpose {text!r}: EHDS Art. 53(1) allows {allowed}")
