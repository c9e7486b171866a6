"""Governance value objects: roles and the authorization matrix, EHDS purposes, data
permits and their scope, the audit chain's hashing rules.

Pure: the governance store (``bmb.governance``) keeps these values and the engine
session (``bmb.engines.session``) enforces them.
"""

from __future__ import annotations

from bmb.domain.governance.errors import AccessDeniedError, AuthenticationError, PermitError
from bmb.domain.governance.permits import (
    DataForm,
    Permit,
    PermitState,
    Population,
    TableScope,
    parse_table_scope,
    validate_scope,
)
from bmb.domain.governance.purposes import ProhibitedUse, Purpose, PurposeError, parse_purpose
from bmb.domain.governance.roles import MATRIX, Action, Role, allowed, parse_role

__all__ = [
    "MATRIX",
    "AccessDeniedError",
    "Action",
    "AuthenticationError",
    "DataForm",
    "Permit",
    "PermitError",
    "PermitState",
    "Population",
    "ProhibitedUse",
    "Purpose",
    "PurposeError",
    "Role",
    "TableScope",
    "allowed",
    "parse_purpose",
    "parse_role",
    "parse_table_scope",
    "validate_scope",
]
