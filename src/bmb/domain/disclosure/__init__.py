"""The output policy: statistical disclosure control of everything leaving a session.

Small counts and secondary suppression (``tables``, ``secondary``), dominance rules for
sums and means (``tables``), model checks (``models``), k-anonymity, l-diversity and
re-identification risk of person-level extracts (``anonymity``, ``hierarchies``,
``risk``), and the differencing guard (``differencing``). Pure functions over plain
values; the engine session computes the inputs and applies the results (invariant 5).
"""

from __future__ import annotations

from bmb.domain.disclosure.policy import PRESETS, DifferencingAction, OutputPolicy, preset
from bmb.domain.disclosure.report import Finding, OutputKind, OutputReport, Severity

__all__ = [
    "PRESETS",
    "DifferencingAction",
    "Finding",
    "OutputKind",
    "OutputPolicy",
    "OutputReport",
    "Severity",
    "preset",
]
