"""Errors that users see.

Every failure a user can cause or fix is one of these, raised with a message that
names what was wrong (file, record, field) and what to do. The CLI's single error
boundary prints the message on one line and maps the class to an exit code, so no
module needs to know about terminals or exit codes.
"""

from __future__ import annotations


class BmbError(Exception):
    """A failure at run time that the user can act on (exit code 1)."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if self.hint is None else f"{self.message} ({self.hint})"


class UsageError(BmbError):
    """The command was called wrongly: bad option value, missing argument (exit code 2)."""

    exit_code = 2


class ConfigError(BmbError):
    """A configuration file or setting is missing or invalid."""


class KeyMismatchError(BmbError):
    """The pseudonymization key is missing or is not the lake's key."""


class DataError(BmbError):
    """Input data cannot be read at all (not a single bad record: those go to quarantine)."""
