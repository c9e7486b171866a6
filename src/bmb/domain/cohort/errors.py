"""The error a cohort definition raises when it is not valid.

A definition comes from a user's file (ATLAS JSON, YAML) or from Python code; either
way the message names where in the definition the problem is (``path``), in the
notation of the source (``PrimaryCriteria.CriteriaList[0].Foo``), so it can be fixed
without reading BMB's code.
"""

from __future__ import annotations

from bmb.domain.errors import BmbError


class CohortDefinitionError(BmbError):
    """A cohort definition that cannot be built or compiled."""

    def __init__(self, message: str, *, path: str = "", source: str | None = None) -> None:
        where = " ".join(p for p in (source, path) if p)
        super().__init__(f"{where}: {message}" if where else message)
        self.path = path
        self.source = source
