"""Data permits: the controller's authorization of a project, as a value.

A permit says who (named users), why (one EHDS purpose), what (tables and columns, and
optionally a population: a cohort), how (pseudonymized or anonymized data, under an
output policy and an optional privacy budget) and when (start and expiry dates). The
store keeps permits; this module holds their rules, so that the governance actions and
the engine session read one definition.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from bmb.domain.cdm import CDM_TABLES
from bmb.domain.disclosure.policy import OutputPolicy
from bmb.domain.governance.errors import PermitError
from bmb.domain.governance.purposes import Purpose
from bmb.domain.governance.scope import (
    ALWAYS_VISIBLE,
    DROPPED_COLUMNS,
    PERSON_COLUMN,
    REFERENCE_TABLES,
    UNSCOPABLE,
)


class DataForm(StrEnum):
    """What form of data a permit allows out of the session (EHDS Art. 66)."""

    ANONYMIZED = "anonymized"  # aggregates and k-anonymous extracts without ids
    PSEUDONYMIZED = "pseudonymized"  # person-level extracts under project pseudonyms


class PermitState(StrEnum):
    ACTIVE = "active"
    NOT_STARTED = "not_started"
    EXPIRED = "expired"
    REVOKED = "revoked"


@dataclass(frozen=True, slots=True)
class TableScope:
    """One table a permit includes, and its columns (``None``: every column)."""

    table: str
    columns: frozenset[str] | None = None

    def to_text(self) -> str:
        if self.columns is None:
            return self.table
        return f"{self.table}:{','.join(sorted(self.columns))}"


@dataclass(frozen=True, slots=True)
class Population:
    """A permit's population restriction: persons in a cohort of the lake.

    Either a cohort of the CDM ``cohort`` table (by ``cohort_definition_id``), or a
    derived table of the lake with a ``person_id`` or ``subject_id`` column.
    """

    cohort_definition_id: int | None = None
    derived_table: str | None = None

    def __post_init__(self) -> None:
        if (self.cohort_definition_id is None) == (self.derived_table is None):
            raise PermitError("a population is either a cohort id or a derived table")
        if self.derived_table is not None and not self.derived_table.isidentifier():
            raise PermitError(f"population table {self.derived_table!r} is not a table name")

    def to_text(self) -> str:
        if self.cohort_definition_id is not None:
            return f"cohort:{self.cohort_definition_id}"
        return f"derived.{self.derived_table}"

    @classmethod
    def parse(cls, text: str) -> Population:
        """``cohort:ID`` or ``derived.NAME``."""
        if text.startswith("cohort:") and text[7:].isdigit():
            return cls(cohort_definition_id=int(text[7:]))
        if text.startswith("derived."):
            return cls(derived_table=text[len("derived.") :])
        raise PermitError(
            f"population {text!r} is not understood",
            hint="use cohort:<cohort_definition_id> or derived.<table>",
        )


@dataclass(frozen=True, slots=True)
class Permit:
    """A data permit (EHDS Art. 68) as granted."""

    permit_id: int
    project_id: str
    purpose: Purpose
    form: DataForm
    members: frozenset[str]
    tables: tuple[TableScope, ...]
    starts: date
    expires: date
    population: Population | None = None
    policy: OutputPolicy = field(default_factory=OutputPolicy)
    epsilon_budget: float | None = None
    revoked_at: datetime | None = None

    def state(self, today: date) -> PermitState:
        if self.revoked_at is not None:
            return PermitState.REVOKED
        if today < self.starts:
            return PermitState.NOT_STARTED
        if today > self.expires:
            return PermitState.EXPIRED
        return PermitState.ACTIVE

    def require_active(self, today: date) -> None:
        """Refuse any use of a permit that is not active today."""
        state = self.state(today)
        if state is PermitState.ACTIVE:
            return
        what = {
            PermitState.REVOKED: f"was revoked on {self.revoked_at:%Y-%m-%d}"
            if self.revoked_at
            else "was revoked",
            PermitState.NOT_STARTED: f"starts on {self.starts}",
            PermitState.EXPIRED: f"expired on {self.expires}",
        }[state]
        raise PermitError(
            f"permit {self.permit_id} of project {self.project_id} {what}",
            hint="ask the controller for a new permit",
        )

    def scope_of(self, table: str) -> TableScope | None:
        for scope in self.tables:
            if scope.table == table:
                return scope
        return None

    def visible_tables(self) -> list[str]:
        """Every table a session under this permit shows (vocabularies included)."""
        return sorted({s.table for s in self.tables} | ALWAYS_VISIBLE)


def parse_table_scope(text: str) -> TableScope:
    """``table`` or ``table:col1,col2`` (the command line's form)."""
    name, _, cols = text.partition(":")
    columns = frozenset(c.strip() for c in cols.split(",") if c.strip()) if cols else None
    return TableScope(name.strip(), columns)


def validate_scope(scopes: Iterable[TableScope]) -> tuple[TableScope, ...]:
    """Check tables and columns against the CDM and against what a session can scope."""
    out: dict[str, TableScope] = {}
    for scope in scopes:
        table = scope.table
        if table not in CDM_TABLES:
            raise PermitError(f"permit scope: {table!r} is not an OMOP CDM v5.4 table")
        if table in UNSCOPABLE:
            raise PermitError(
                f"permit scope: table {table} cannot be in a permit ({UNSCOPABLE[table]})"
            )
        if table not in PERSON_COLUMN and table not in REFERENCE_TABLES:
            if table in ALWAYS_VISIBLE:
                continue  # vocabularies are in every session anyway
            raise PermitError(f"permit scope: table {table} cannot be in a permit")
        if scope.columns is not None:
            known = set(CDM_TABLES[table].field_names)
            unknown = sorted(scope.columns - known)
            if unknown:
                raise PermitError(f"permit scope: table {table} has no column {', '.join(unknown)}")
            dropped = sorted(scope.columns & DROPPED_COLUMNS)
            if dropped:
                raise PermitError(
                    f"permit scope: column {', '.join(dropped)} of {table} is never shown "
                    "(a free-text identifier that would link rows across projects)"
                )
        if table in out:
            raise PermitError(f"permit scope: table {table} is listed twice")
        out[table] = scope
    if not any(t in PERSON_COLUMN for t in out):
        raise PermitError("permit scope: a permit needs at least one table of persons' data")
    return tuple(out[t] for t in sorted(out))
