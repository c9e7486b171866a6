"""Governance errors users see: a refused action, an unusable permit.

Both are :class:`bmb.domain.errors.BmbError` (exit code 1): the command was well formed
but the rules say no. The message names the rule, so the user knows whom to ask.
"""

from __future__ import annotations

from bmb.domain.errors import BmbError


class AccessDeniedError(BmbError):
    """The acting user may not do this (role, permit membership, own objects only)."""


class PermitError(BmbError):
    """The permit cannot be used: not started, expired, revoked, or out of scope."""


class AuthenticationError(BmbError):
    """The acting user could not be identified: unknown name, wrong password or token."""
