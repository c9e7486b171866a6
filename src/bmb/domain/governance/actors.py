"""Who is acting: an authenticated user, or the operating-system account of a key holder.

Every audited event names its actor. Users act under their role; commands that predate
accounts on a lake (``bmb init``, ingestion before any user exists) act as the
operating-system account that holds the lake's key, named ``os:<login>``, with no role.
"""

from __future__ import annotations

from dataclasses import dataclass

from bmb.domain.governance.roles import Role


@dataclass(frozen=True, slots=True)
class Actor:
    name: str
    role: Role | None
    user_id: int | None = None
    person_id: int | None = None  # a citizen's own person_id

    @property
    def label(self) -> str:
        """How the audit trail names the actor: ``name/role`` or ``os:login``."""
        return self.name if self.role is None else f"{self.name}/{self.role.value}"

    @classmethod
    def system(cls, login: str) -> Actor:
        return cls(f"os:{login}", None)
