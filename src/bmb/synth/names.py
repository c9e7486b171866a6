"""Pools of Italian names for synthetic people, from Faker's ``it_IT`` locale.

Faker's lists are used directly (not ``fake.name()`` one call at a time): drawing
indices into a pool is vectorized, and the 3-letter fiscal-code parts are computed
once per pool entry. Names are ASCII uppercase, as in the fiscal-code world
(apostrophes kept, accents dropped).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cache

import numpy as np

from bmb.synth.fiscal import name_codes

#: Street names for addresses (toponyms common in Liguria) [M].
STREETS = (
    "VIA ROMA",
    "VIA GARIBALDI",
    "VIA MAZZINI",
    "CORSO ITALIA",
    "VIA XX SETTEMBRE",
    "VIA AURELIA",
    "VIA DEI MILLE",
    "VIA CAVOUR",
    "PIAZZA DELLA VITTORIA",
    "VIA BALBI",
    "VIA ANTICA ROMANA",
    "VIA SAN FRANCESCO",
    "VIA MATTEOTTI",
    "VIA GRAMSCI",
    "VIA DELLA LIBERTA'",
    "CORSO EUROPA",
    "VIA NAZIONALE",
    "VIA VERDI",
    "VIA PISACANE",
    "VIA COLOMBO",
)


def ascii_upper(text: str) -> str:
    """Uppercase ASCII without accents, as names appear in fiscal-code documents."""
    norm = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return norm.upper().strip()


@dataclass(frozen=True, slots=True)
class NamePools:
    """Surnames and first names with their fiscal-code parts, aligned arrays."""

    surnames: np.ndarray  # 'U..'
    surname_codes: np.ndarray  # 'S3'
    male: np.ndarray
    male_codes: np.ndarray
    female: np.ndarray
    female_codes: np.ndarray


def _unique(names: tuple[str, ...] | list[str]) -> list[str]:
    return sorted({ascii_upper(n) for n in names if ascii_upper(n)})


@cache
def name_pools() -> NamePools:
    """The pools, in a fixed order so that a seed gives the same people everywhere."""
    from faker.providers.person.it_IT import Provider

    surnames = _unique(Provider.last_names)
    male = _unique(Provider.first_names_male)
    female = _unique(Provider.first_names_female)
    return NamePools(
        surnames=np.array(surnames),
        surname_codes=name_codes(surnames, first=False),
        male=np.array(male),
        male_codes=name_codes(male, first=True),
        female=np.array(female),
        female_codes=name_codes(female, first=True),
    )
