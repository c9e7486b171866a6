"""A port for reporting progress of long work.

Lower layers (synth, pipeline) report progress through this protocol so they never
import a terminal library; the CLI plugs in a Rich progress bar on a terminal and
nothing when output is piped.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """Receives progress of named tasks."""

    def start(self, task: str, total: float | None = None) -> None:
        """A task begins; ``total`` in its own units if known."""

    def advance(self, task: str, amount: float = 1) -> None:
        """Some of the task is done."""

    def finish(self, task: str) -> None:
        """The task ended."""


class NullProgress:
    """Progress that goes nowhere: the default for library calls and tests."""

    def start(self, task: str, total: float | None = None) -> None:
        return None

    def advance(self, task: str, amount: float = 1) -> None:
        return None

    def finish(self, task: str) -> None:
        return None
