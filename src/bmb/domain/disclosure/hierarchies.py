"""Generalization hierarchies of quasi-identifiers: age bands, district, month.

A quasi-identifier is a column that, combined with others, can single a person out
(age, sex, comune of residence, dates of events). Each has a hierarchy of levels, from
the value as it is (level 0) to hidden (``*``, the last level). Person-level extracts
are generalized level by level until every class of persons sharing the same values is
large enough (``anonymity``).

Values are generalized to strings at every level above 0, so a generalized column reads
the same whatever its source type ("1960-1964", "2024-03", "Savona").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

HIDDEN = "*"


class QiKind(StrEnum):
    """How a quasi-identifier generalizes."""

    NUMBER = "number"  # ages, years of birth: bands of 5, 10, 20 years, then hidden
    SEX = "sex"  # as is, then hidden
    PLACE = "place"  # comune, then each level of the place hierarchy, then hidden
    DATE = "date"  # day, month, quarter, year, then hidden
    CATEGORY = "category"  # as is, then hidden


_NUMBER_WIDTHS = (1, 5, 10, 20)
_DATE_LEVELS = ("day", "month", "quarter", "year")


@dataclass(frozen=True, slots=True)
class Hierarchy:
    """The generalization levels of one quasi-identifier column."""

    column: str
    kind: QiKind
    #: For places: one mapping per level above the comune (comune -> district, ...).
    place_levels: tuple[tuple[str, Mapping[Hashable, Hashable]], ...] = field(default=())
    #: Quasi-identifiers the region's resident population table also has (age, sex,
    #: place): the journalist risk is measured on those.
    demographic: bool = False
    #: Hierarchies of one group move together in the lattice (all event dates share
    #: one level), which keeps the search small when an extract has many dates.
    group: str | None = None

    @property
    def group_key(self) -> str:
        return self.group if self.group is not None else f"column:{self.column}"

    @property
    def level_names(self) -> tuple[str, ...]:
        if self.kind is QiKind.NUMBER:
            return (*(f"{w}y" if w > 1 else "exact" for w in _NUMBER_WIDTHS), HIDDEN)
        if self.kind is QiKind.DATE:
            return (*_DATE_LEVELS, HIDDEN)
        if self.kind is QiKind.PLACE:
            return ("comune", *(name for name, _ in self.place_levels), HIDDEN)
        return ("exact", HIDDEN)

    @property
    def top(self) -> int:
        """The highest level (hidden)."""
        return len(self.level_names) - 1

    def generalize(self, value: Hashable, level: int) -> Hashable:
        """The value at ``level``; missing values stay missing until hidden."""
        if level >= self.top:
            return HIDDEN
        if value is None or level == 0:
            return value
        if self.kind is QiKind.NUMBER:
            return _band(value, _NUMBER_WIDTHS[level])
        if self.kind is QiKind.DATE:
            return _date_level(value, _DATE_LEVELS[level])
        if self.kind is QiKind.PLACE:
            current: Hashable = value
            for _, mapping in self.place_levels[:level]:
                current = mapping.get(current, current)
            return None if current is None else str(current)
        return HIDDEN


def _band(value: Hashable, width: int) -> str:
    if not isinstance(value, int | float):
        raise TypeError(f"cannot band {value!r}")
    low = int(value) // width * width
    return f"{low}-{low + width - 1}"


def _date_level(value: Hashable, level: str) -> str:
    if isinstance(value, dt.datetime):
        day = value.date()
    elif isinstance(value, dt.date):
        day = value
    elif isinstance(value, str):
        day = dt.date.fromisoformat(value[:10])
    else:
        raise TypeError(f"cannot read {value!r} as a date")
    if level == "month":
        return f"{day.year:04d}-{day.month:02d}"
    if level == "quarter":
        return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"
    return f"{day.year:04d}"
