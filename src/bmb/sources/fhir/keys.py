"""Resource and reference keys: ``getResourceKey()`` and ``getReferenceKey([type])``.

The SQL-on-FHIR spec leaves the key to the implementation as long as a reference's key
equals the key of the resource it points to. BMB's key is the resource's logical
``id``: it survives bulk export, joins cheaply, and the pipeline pseudonymizes it like
any identifier. A reference yields that id when it is a relative or absolute literal
reference (``Patient/123``, ``https://x/fhir/Patient/123/_history/2``) or a bundle's
``urn:uuid:`` reference (its type then comes from ``Reference.type``). Contained
(``#x``) and logical (identifier-only) references have no key: the spec says empty.

The same patterns drive the reference evaluator and the compiled SQL, so both paths
produce identical keys.
"""

from __future__ import annotations

import re
from typing import Any

#: A literal reference: optional base URL, then ``Type/id``, then an optional version.
LITERAL_REFERENCE = (
    r"^(?:[^?#]*/)?([A-Z][A-Za-z]+)/([A-Za-z0-9.-]{1,64})(?:/_history/[A-Za-z0-9.-]{1,64})?$"
)
#: A bundle-local reference to a resource whose ``fullUrl`` is ``urn:uuid:<uuid>``.
UUID_REFERENCE = r"^urn:uuid:([0-9A-Fa-f-]{36})$"

_LITERAL = re.compile(LITERAL_REFERENCE)
_UUID = re.compile(UUID_REFERENCE)


def resource_key(resource: dict[str, Any]) -> str | None:
    """The key of a resource: its ``id``."""
    rid = resource.get("id")
    return rid if isinstance(rid, str) else None


def reference_key(reference: dict[str, Any], expected_type: str | None = None) -> str | None:
    """The key a Reference points to, or None (not resolvable, or not of ``expected_type``)."""
    text = reference.get("reference")
    if not isinstance(text, str):
        return None
    m = _LITERAL.match(text)
    if m is not None:
        rtype, rid = m.group(1), m.group(2)
    else:
        m = _UUID.match(text)
        if m is None:
            return None
        declared = reference.get("type")
        rtype, rid = (declared if isinstance(declared, str) else None), m.group(1)
    if expected_type is not None and rtype != expected_type:
        return None
    return rid
