"""What the output policy found about an output: the record reviewers read.

Every output carries one report: which rules ran, what they redacted, generalized or
flagged, and whether anything blocks release. Reviewers decide on the output and its
report together; the audit trail keeps the report's digest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from bmb.domain.disclosure.policy import OutputPolicy


class OutputKind(StrEnum):
    TABLE = "table"  # aggregates computed by the engine (tabulate)
    EXTRACT = "extract"  # person-level rows
    MODEL = "model"  # a model's summary, with the counts of its training data
    CUSTOM = "custom"  # free SQL aggregates, checked as far as their columns allow


class Severity(StrEnum):
    INFO = "info"  # what the policy did (cells redacted, levels chosen)
    REVIEW = "review"  # reviewers must look at this specifically
    BLOCKING = "blocking"  # the output cannot be released as it is


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    severity: Severity
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "severity": self.severity.value, "message": self.message}


@dataclass(frozen=True, slots=True)
class OutputReport:
    """The policy's verdict on one output."""

    kind: OutputKind
    policy: OutputPolicy
    rows: int
    columns: tuple[str, ...]
    findings: tuple[Finding, ...] = ()
    measures: dict[str, Any] = field(default_factory=dict)

    @property
    def blocking(self) -> bool:
        return any(f.severity is Severity.BLOCKING for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "policy": self.policy.to_dict(),
            "rows": self.rows,
            "columns": list(self.columns),
            "findings": [f.to_dict() for f in self.findings],
            "measures": self.measures,
            "blocking": self.blocking,
        }
