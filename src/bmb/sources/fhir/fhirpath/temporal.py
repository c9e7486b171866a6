"""FHIRPath dates, date-times and times: values that know their own precision.

FHIR dates are often partial (``1970-06``); FHIRPath compares them component by
component and answers *empty* (unknown) when one value stops before the other and
the components they share are equal. Python's ``datetime`` cannot say "June 1970", so
these small value types keep the components that were written and nothing more.
Precision counts components: year 1, month 2, day 3, hour 4, minute 5, second 6 (a
fraction of a second belongs to second precision, as FHIRPath says).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
_DATETIME = re.compile(
    r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?"
    r"(Z|[+-]\d{2}:\d{2})?)?)?)?$"
)
_TIME = re.compile(r"^(\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?$")


def _tz_minutes(text: str | None) -> int | None:
    if text is None:
        return None
    if text == "Z":
        return 0
    sign = -1 if text[0] == "-" else 1
    return sign * (int(text[1:3]) * 60 + int(text[4:6]))


def _tz_text(minutes: int) -> str:
    if minutes == 0:
        return "Z"
    sign = "-" if minutes < 0 else "+"
    minutes = abs(minutes)
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True, slots=True)
class FPDateTime:
    """A FHIRPath ``DateTime`` (or ``Date`` when ``date_only``), partial to ``precision``."""

    year: int
    month: int = 1
    day: int = 1
    hour: int = 0
    minute: int = 0
    second: int = 0
    microsecond: int = 0
    precision: int = 1
    tz: int | None = None  # offset in minutes, None when unstated
    date_only: bool = False
    fraction_digits: int = 0

    @classmethod
    def parse(cls, text: str, *, date_only: bool = False) -> FPDateTime | None:
        """Parse a FHIR ``date``/``dateTime``/``instant`` string; None when it is not one."""
        m = (_DATE if date_only else _DATETIME).match(text)
        if m is None:
            return None
        parts = m.groups()
        numbers = [int(p) for p in parts[:6] if p is not None]
        precision = len(numbers)
        fraction = "" if date_only else (parts[6] or "")
        micro = int((fraction + "000000")[:6]) if fraction else 0
        tz = None if date_only else _tz_minutes(parts[7])
        fields = numbers + [1, 1][: max(0, 3 - precision)]
        fields += [0] * (6 - len(fields))
        year, month, day, hour, minute, second = fields
        try:
            if precision >= 3:
                datetime(year, month, day)
        except ValueError:
            return None
        return cls(
            year,
            month,
            day,
            hour,
            minute,
            second,
            micro,
            precision,
            tz,
            date_only,
            len(fraction),
        )

    def _utc_key(self) -> tuple[int, ...]:
        """Components shifted to UTC when the time of day and a timezone are known."""
        if self.precision >= 4 and self.tz is not None and self.tz != 0:
            moment = datetime(
                self.year, self.month, self.day, self.hour, self.minute, self.second
            ) - timedelta(minutes=self.tz)
            return (
                moment.year,
                moment.month,
                moment.day,
                moment.hour,
                moment.minute,
                moment.second,
                self.microsecond,
            )
        return (
            self.year,
            self.month,
            self.day,
            self.hour,
            self.minute,
            self.second,
            self.microsecond,
        )

    def compare(self, other: FPDateTime) -> int | None:
        """-1, 0, 1, or None when the precisions differ and the shared part is equal."""
        a, b = self._utc_key(), other._utc_key()
        shared = min(self.precision, other.precision)
        for i in range(shared):
            if a[i] != b[i]:
                return -1 if a[i] < b[i] else 1
        if self.precision != other.precision:
            return None
        if shared == 6 and a[6] != b[6]:
            return -1 if a[6] < b[6] else 1
        return 0

    def iso(self) -> str:
        """The value written back as FHIR text, at its own precision."""
        out = f"{self.year:04d}"
        if self.precision >= 2:
            out += f"-{self.month:02d}"
        if self.precision >= 3:
            out += f"-{self.day:02d}"
        if self.precision >= 4:
            out += f"T{self.hour:02d}"
            out += f":{self.minute:02d}" if self.precision >= 5 else ":00"
        if self.precision >= 6:
            out += f":{self.second:02d}"
            if self.fraction_digits:
                digits = f"{self.microsecond:06d}"[: self.fraction_digits]
                out += "." + digits.ljust(self.fraction_digits, "0")
        if self.precision >= 4 and self.tz is not None:
            out += _tz_text(self.tz)
        return out

    def boundary(self, high: bool) -> FPDateTime:
        """lowBoundary()/highBoundary(): the earliest or latest moment this value may mean."""
        month = self.month if self.precision >= 2 else (12 if high else 1)
        last_day = calendar.monthrange(self.year, month)[1]
        day = self.day if self.precision >= 3 else (last_day if high else 1)
        if self.date_only:
            return replace(self, month=month, day=day, precision=3)
        hour = self.hour if self.precision >= 4 else (23 if high else 0)
        minute = self.minute if self.precision >= 5 else (59 if high else 0)
        second = self.second if self.precision >= 6 else (59 if high else 0)
        if self.precision >= 6 and self.fraction_digits >= 3:
            micro = self.microsecond
        else:
            micro = 999000 if high else 0
        # An unstated timezone may be any of UTC-12:00 .. UTC+14:00.
        tz = self.tz if self.tz is not None else (-12 * 60 if high else 14 * 60)
        return FPDateTime(
            month=month,
            day=day,
            hour=hour,
            minute=minute,
            second=second,
            microsecond=micro,
            precision=6,
            tz=tz,
            fraction_digits=3,
            year=self.year,
        )

    def add(self, amount: int, unit: str) -> FPDateTime:
        """Calendar arithmetic: ``unit`` is year, month, week, day, hour, minute, second."""
        if unit == "year":
            return self._with_date(self.year + amount, self.month)
        if unit == "month":
            total = self.year * 12 + (self.month - 1) + amount
            return self._with_date(total // 12, total % 12 + 1)
        seconds = {"week": 604800, "day": 86400, "hour": 3600, "minute": 60, "second": 1}[unit]
        moment = datetime(
            self.year, self.month, self.day, self.hour, self.minute, self.second, self.microsecond
        ) + timedelta(seconds=seconds * amount)
        return replace(
            self,
            year=moment.year,
            month=moment.month,
            day=moment.day,
            hour=moment.hour,
            minute=moment.minute,
            second=moment.second,
            microsecond=moment.microsecond,
        )

    def _with_date(self, year: int, month: int) -> FPDateTime:
        day = min(self.day, calendar.monthrange(year, month)[1])
        return replace(self, year=year, month=month, day=day)

    @classmethod
    def now(cls) -> FPDateTime:
        """The current moment, in UTC, to the millisecond."""
        t = datetime.now(UTC)
        return cls(
            t.year,
            t.month,
            t.day,
            t.hour,
            t.minute,
            t.second,
            t.microsecond // 1000 * 1000,
            6,
            0,
            False,
            3,
        )


@dataclass(frozen=True, slots=True)
class FPTime:
    """A FHIRPath ``Time`` of day, partial to ``precision`` (hour 4 .. second 6)."""

    hour: int
    minute: int = 0
    second: int = 0
    microsecond: int = 0
    precision: int = 4
    fraction_digits: int = 0

    @classmethod
    def parse(cls, text: str) -> FPTime | None:
        """Parse ``hh[:mm[:ss[.fff]]]``; None when it is not a time."""
        m = _TIME.match(text)
        if m is None:
            return None
        h, mi, s, frac = m.groups()
        numbers = [int(p) for p in (h, mi, s) if p is not None]
        micro = int(((frac or "") + "000000")[:6]) if frac else 0
        padded = numbers + [0] * (3 - len(numbers))
        return cls(padded[0], padded[1], padded[2], micro, 3 + len(numbers), len(frac or ""))

    def compare(self, other: FPTime) -> int | None:
        """-1, 0, 1, or None when the precisions differ and the shared part is equal."""
        a = (self.hour, self.minute, self.second)
        b = (other.hour, other.minute, other.second)
        for i in range(min(self.precision, other.precision) - 3):
            if a[i] != b[i]:
                return -1 if a[i] < b[i] else 1
        if self.precision != other.precision:
            return None
        if self.microsecond != other.microsecond:
            return -1 if self.microsecond < other.microsecond else 1
        return 0

    def iso(self) -> str:
        """The time written back as FHIR text."""
        out = f"{self.hour:02d}"
        if self.precision >= 5:
            out += f":{self.minute:02d}"
        if self.precision >= 6:
            out += f":{self.second:02d}"
            if self.fraction_digits:
                out += "." + f"{self.microsecond:06d}"[: self.fraction_digits]
        return out

    def boundary(self, high: bool) -> FPTime:
        """The earliest or latest time this value may mean, to the millisecond."""
        minute = self.minute if self.precision >= 5 else (59 if high else 0)
        second = self.second if self.precision >= 6 else (59 if high else 0)
        keep = self.precision >= 6 and self.fraction_digits >= 3
        micro = self.microsecond if keep else (999000 if high else 0)
        return FPTime(self.hour, minute, second, micro, 6, 3)
