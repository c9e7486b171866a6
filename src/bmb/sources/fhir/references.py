"""Conditional references (``Practitioner?identifier=system|value``) taken apart.

A transaction Bundle may point at a resource by search criteria instead of an id; the
server resolves them when it processes the transaction (FHIR R4, 3.1.0.11.2). A lake
receiving the Bundle must do the same. Only the ``identifier`` criterion is
meaningful without a FHIR server, and it is what Synthea and the Italian profiles
use; other criteria are reported as unresolvable, never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl

_CONDITIONAL = re.compile(r"^(?:[^?#]*/)?([A-Z][A-Za-z]+)\?(.+)$")


@dataclass(frozen=True, slots=True)
class IdentifierCriterion:
    """One ``identifier`` search token: ``system|value``, ``|value`` or ``value``."""

    system: str | None  # None: any system; "" (from ``|value``): no system
    value: str


@dataclass(frozen=True, slots=True)
class ConditionalReference:
    """A parsed conditional reference; ``criteria`` empty when none is usable."""

    resource_type: str
    criteria: tuple[IdentifierCriterion, ...]
    unsupported: tuple[str, ...]  # search parameters BMB cannot evaluate


def parse_conditional(reference: str) -> ConditionalReference | None:
    """``Type?identifier=...`` as a :class:`ConditionalReference`; None if not conditional.

    A comma inside a value is FHIR's OR: the alternatives become separate criteria, and
    a resource matches when one of its identifiers meets one criterion. Repeating the
    ``identifier`` parameter (FHIR's AND, unheard of for identifiers) is read the same
    way; the resolver still demands exactly one matching resource.
    """
    m = _CONDITIONAL.match(reference.strip())
    if m is None:
        return None
    criteria: list[IdentifierCriterion] = []
    unsupported: list[str] = []
    for name, raw in parse_qsl(m.group(2), keep_blank_values=True):
        if name != "identifier" or not raw:
            unsupported.append(name)
            continue
        for token in _split_or(raw):
            system, bar, value = token.partition("|")
            if not bar:
                criteria.append(IdentifierCriterion(None, token))
            elif value:
                criteria.append(IdentifierCriterion(system, value))
            else:
                unsupported.append(name)
    return ConditionalReference(m.group(1), tuple(criteria), tuple(unsupported))


def _split_or(raw: str) -> list[str]:
    """Split a token list on commas not escaped with a backslash (FHIR search escaping)."""
    parts: list[str] = []
    current: list[str] = []
    escaped = False
    for ch in raw:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ",":
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p for p in parts if p]
