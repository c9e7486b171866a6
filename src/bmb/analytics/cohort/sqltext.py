"""SQL fragments in BMB's canonical dialect (DuckDB's), built only from typed values.

The compiler writes each step of a cohort once, in one dialect, from these helpers;
SQLGlot parses it and writes the engine's dialect (:func:`transpile`). Every value
that reaches SQL passes through a helper here: integers through ``int``, dates through
``date.isoformat``, text through SQLGlot's literal quoting. Nothing from a definition
is pasted into SQL as raw text.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import sqlglot
from sqlglot import exp

#: The dialect the compiler writes; SQLGlot translates from it.
CANONICAL = "duckdb"


def num(value: int | float) -> str:
    """A numeric literal (integers stay integers)."""
    if isinstance(value, bool):
        raise TypeError("a boolean is not a number")
    if isinstance(value, int) or (float(value).is_integer() and abs(value) < 2**53):
        return str(int(value))
    return repr(float(value))


def text(value: str) -> str:
    """A quoted string literal."""
    return exp.Literal.string(value).sql(dialect=CANONICAL)


def day(value: date) -> str:
    """A date literal."""
    return f"DATE '{value.isoformat()}'"


def add_days(expr: str, days: int) -> str:
    """``expr`` plus ``days`` days, still a date (``date + integer`` on every engine)."""
    days = int(days)
    if days == 0:
        return expr
    return f"({expr} {'+' if days > 0 else '-'} {abs(days)})"


def days_between(start: str, end: str) -> str:
    """Whole days from ``start`` to ``end`` (Circe's ``DATEDIFF(d, start, end)``)."""
    return f"DATE_DIFF('day', {start}, {end})"


def year(expr: str) -> str:
    return f"YEAR({expr})"


def in_list(expr: str, ids: Iterable[int], *, negate: bool = False) -> str:
    values = ", ".join(str(int(i)) for i in ids)
    return f"{expr} {'NOT IN' if negate else 'IN'} ({values})"


def transpile(sql: str, dialect: str) -> str:
    """Translate canonical SQL to an engine's dialect (validating it on the way)."""
    tree = sqlglot.parse_one(sql, read=CANONICAL)
    return tree.sql(dialect=dialect)
