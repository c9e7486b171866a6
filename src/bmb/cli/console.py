"""Terminal output shared by all commands: Rich console, progress bars, tables.

Progress bars appear only on a terminal; when output is piped, commands stay quiet
(DESIGN.md, the command line).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

console = Console()
err_console = Console(stderr=True)


class RichProgress:
    """The domain ``Progress`` port drawn as Rich progress bars."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._tasks: dict[str, TaskID] = {}

    def start(self, task: str, total: float | None = None) -> None:
        if task in self._tasks:
            self._progress.update(self._tasks[task], total=total)
        else:
            self._tasks[task] = self._progress.add_task(task, total=total)

    def advance(self, task: str, amount: float = 1) -> None:
        if task not in self._tasks:
            self.start(task)
        self._progress.advance(self._tasks[task], amount)

    def finish(self, task: str) -> None:
        if task in self._tasks:
            tid = self._tasks[task]
            total = self._progress.tasks[self._progress.task_ids.index(tid)].total
            if total is None:
                done = self._progress.tasks[self._progress.task_ids.index(tid)].completed
                self._progress.update(tid, total=done)
            else:
                self._progress.update(tid, completed=total)


class QuietProgress:
    """Progress that prints nothing (output piped)."""

    def start(self, task: str, total: float | None = None) -> None:
        return None

    def advance(self, task: str, amount: float = 1) -> None:
        return None

    def finish(self, task: str) -> None:
        return None


@contextmanager
def progress_bar() -> Iterator[RichProgress | QuietProgress]:
    """A progress sink: Rich bars on a terminal, silence when piped."""
    if not sys.stderr.isatty():
        yield QuietProgress()
        return
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=False,
    ) as progress:
        yield RichProgress(progress)


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print a readable table on the terminal."""
    table = Table(title=title, title_justify="left")
    for col in columns:
        table.add_column(col, justify="right" if col.startswith(("#", "n ")) else "left")
    for row in rows:
        table.add_row(*(_fmt(v) for v in row))
    console.print(table)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return "" if value is None else str(value)
