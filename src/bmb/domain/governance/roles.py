"""Roles, actions, and the authorization matrix that joins them.

The matrix is data, not code spread over commands: one table says which role may
attempt which action, the reference page prints it, and a test walks every cell. Some
actions also have a rule about the particular object (a researcher opens sessions only
under permits that name them; a reviewer never reviews their own output); those rules
live beside the objects (``permits``, ``review``) and are applied after the matrix.

Separation of duties follows the DESIGN's table of users: the controller grants and
owns keys but does not analyse; stewards run the lake and review outputs; researchers
and planners analyse only inside sessions; the auditor reads the trail; a citizen sees
and decides about their own data only; industry developers work on synthetic releases
and have no access to the lake at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType


class Role(StrEnum):
    """Who a user is for BMB (DESIGN.md, who uses it)."""

    CONTROLLER = "controller"
    STEWARD = "steward"
    PLANNER = "planner"
    RESEARCHER = "researcher"
    INDUSTRY = "industry"
    CITIZEN = "citizen"
    AUDITOR = "auditor"


class Action(StrEnum):
    """Everything a user can attempt; each attempt is audited, allowed or refused."""

    USER_CREATE = "user.create"
    USER_DISABLE = "user.disable"
    USER_LIST = "user.list"
    TOKEN_ISSUE_OTHER = "token.issue_other"
    PROJECT_CREATE = "project.create"
    PROJECT_READ = "project.read"
    PERMIT_GRANT = "permit.grant"
    PERMIT_REVOKE = "permit.revoke"
    PERMIT_READ = "permit.read"
    SESSION_OPEN = "session.open"
    OUTPUT_REQUEST = "output.request"
    OUTPUT_READ = "output.read"
    OUTPUT_REVIEW = "output.review"
    OUTPUT_DOWNLOAD = "output.download"
    LAKE_INGEST = "lake.ingest"
    LAKE_SQL = "lake.sql"
    LAKE_ANALYZE = "lake.analyze"
    LAKE_EXPORT = "lake.export"
    OPTOUT_SELF = "optout.self"
    OPTOUT_REGISTER = "optout.register"
    OPTOUT_READ = "optout.read"
    AUDIT_READ = "audit.read"
    AUDIT_VERIFY = "audit.verify"
    AUDIT_CHECKPOINT = "audit.checkpoint"
    TRANSPARENCY_SELF = "transparency.self"
    TRANSPARENCY_ANY = "transparency.any"


_C, _S, _P, _R, _I, _Z, _A = (
    Role.CONTROLLER,
    Role.STEWARD,
    Role.PLANNER,
    Role.RESEARCHER,
    Role.INDUSTRY,
    Role.CITIZEN,
    Role.AUDITOR,
)

#: Which roles may attempt each action. Object rules (named in the permit, not the
#: requester, own data only) come on top, in the modules that own those objects.
MATRIX: Mapping[Action, frozenset[Role]] = MappingProxyType(
    {
        Action.USER_CREATE: frozenset({_C}),
        Action.USER_DISABLE: frozenset({_C}),
        Action.USER_LIST: frozenset({_C, _S, _A}),
        Action.TOKEN_ISSUE_OTHER: frozenset({_C}),
        Action.PROJECT_CREATE: frozenset({_C}),
        Action.PROJECT_READ: frozenset({_C, _S, _A, _P, _R}),
        Action.PERMIT_GRANT: frozenset({_C}),
        Action.PERMIT_REVOKE: frozenset({_C}),
        Action.PERMIT_READ: frozenset({_C, _S, _A, _P, _R}),
        Action.SESSION_OPEN: frozenset({_P, _R}),
        Action.OUTPUT_REQUEST: frozenset({_P, _R}),
        Action.OUTPUT_READ: frozenset({_C, _S, _A, _P, _R}),
        Action.OUTPUT_REVIEW: frozenset({_C, _S}),
        Action.OUTPUT_DOWNLOAD: frozenset({_P, _R}),
        Action.LAKE_INGEST: frozenset({_C, _S}),
        Action.LAKE_SQL: frozenset({_S}),
        # Whole-lake analytics (registry, cohorts, rates, models, the planning report)
        # run outside any permit, so they are the steward's, like ad-hoc SQL; everyone
        # else works in a permit-scoped session.
        Action.LAKE_ANALYZE: frozenset({_S}),
        Action.LAKE_EXPORT: frozenset({_C, _S}),
        Action.OPTOUT_SELF: frozenset({_Z}),
        Action.OPTOUT_REGISTER: frozenset({_C, _S}),
        Action.OPTOUT_READ: frozenset({_C, _S, _A}),
        Action.AUDIT_READ: frozenset({_C, _A}),
        Action.AUDIT_VERIFY: frozenset({_C, _A}),
        Action.AUDIT_CHECKPOINT: frozenset({_C, _A}),
        Action.TRANSPARENCY_SELF: frozenset({_Z}),
        Action.TRANSPARENCY_ANY: frozenset({_C, _S, _A}),
    }
)

#: Actions whose object rule limits a role to its own objects (the reference page
#: prints these cells as "own").
OWN_ONLY: Mapping[Action, frozenset[Role]] = MappingProxyType(
    {
        Action.PROJECT_READ: frozenset({_P, _R}),
        Action.PERMIT_READ: frozenset({_P, _R}),
        Action.OUTPUT_READ: frozenset({_P, _R}),
        Action.OUTPUT_DOWNLOAD: frozenset({_P, _R}),
        Action.SESSION_OPEN: frozenset({_P, _R}),
        Action.OUTPUT_REQUEST: frozenset({_P, _R}),
    }
)


def allowed(role: Role, action: Action) -> bool:
    """Whether the matrix lets ``role`` attempt ``action``."""
    return role in MATRIX[action]


def parse_role(text: str) -> Role:
    """A role from its name, or ``ValueError`` listing the roles."""
    try:
        return Role(text.strip().lower())
    except ValueError:
        names = ", ".join(r.value for r in Role)
        raise ValueError(f"unknown role {text!r}: use one of {names}") from None


def matrix_rows() -> list[tuple[str, list[str]]]:
    """The matrix as rows of cells ("yes", "own", ""), roles in enum order."""
    rows: list[tuple[str, list[str]]] = []
    for action in Action:
        cells = []
        for role in Role:
            if role in OWN_ONLY.get(action, frozenset()):
                cells.append("own")
            elif role in MATRIX[action]:
                cells.append("yes")
            else:
                cells.append("")
        rows.append((action.value, cells))
    return rows
