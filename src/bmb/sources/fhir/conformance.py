"""The SQL-on-FHIR v2 conformance suite as data: load cases, run them, write the report.

Each suite file holds ``resources`` and ``tests``; a test carries a ``view`` and one of
``expect`` (rows, compared ignoring order, keys and values exactly), ``expectCount``
or ``expectError``, plus ``tags`` (``shareable`` or ``experimental``). The report is the
suite's own format (``test_report/test-report.schema.json`` in FHIR/sql-on-fhir-v2):
``{file: {"tests": [{"name", "result": {"passed", ...}}]}}``, so BMB can be listed
beside other implementations. Evaluation itself is a callable, so the same runner
checks the reference path, the compiled path, or both.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from bmb.domain.errors import BmbError
from bmb.domain.progress import NullProgress, Progress
from bmb.sources.fhir.viewdef import parse_view

Evaluator = Callable[[dict[str, Any], list[dict[str, Any]]], list[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class Case:
    """One test of the suite."""

    file: str
    index: int
    title: str
    tags: tuple[str, ...]
    view: dict[str, Any]
    resources: list[dict[str, Any]]
    expect: list[dict[str, Any]] | None
    expect_count: int | None
    expect_error: bool
    expect_columns: list[str] | None

    @property
    def shareable(self) -> bool:
        """Whether the suite requires every implementation to pass it."""
        return "experimental" not in self.tags

    @property
    def id(self) -> str:
        """``file::title``, as pytest shows it."""
        return f"{self.file}::{self.title}"


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of running one case."""

    case: Case
    passed: bool
    reason: str = ""


@dataclass
class Report:
    """Outcomes of a whole suite run, with per-file counts."""

    outcomes: list[Outcome] = field(default_factory=list)

    def summary(self) -> list[tuple[str, str, int, int]]:
        """Rows ``(file, kind, passed, failed)`` where kind is shareable/experimental."""
        counts: dict[tuple[str, str], list[int]] = {}
        for o in self.outcomes:
            kind = "shareable" if o.case.shareable else "experimental"
            slot = counts.setdefault((o.case.file, kind), [0, 0])
            slot[0 if o.passed else 1] += 1
        return [(f, k, p, n) for (f, k), (p, n) in sorted(counts.items())]

    def to_json(self) -> dict[str, Any]:
        """The report in the suite's ``test-results.json`` shape."""
        out: dict[str, Any] = {}
        for o in self.outcomes:
            result: dict[str, Any] = {"passed": o.passed}
            if o.reason:
                result["reason"] = o.reason
            out.setdefault(o.case.file, {"tests": []})["tests"].append(
                {"name": o.case.title, "result": result}
            )
        return out


def load_suite(suite: Path) -> list[Case]:
    """Every case of every ``*.json`` file in the suite directory, in file order."""
    if not suite.is_dir():
        raise BmbError(
            f"conformance suite {suite}: not a directory",
            hint="pass --suite DIR with the sql-on-fhir-v2 tests/",
        )
    cases: list[Case] = []
    for path in sorted(suite.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
        except json.JSONDecodeError as exc:
            raise BmbError(f"conformance suite {path}: not valid JSON ({exc})") from None
        resources = data.get("resources", [])
        for i, test in enumerate(data.get("tests", [])):
            cases.append(
                Case(
                    file=path.name,
                    index=i,
                    title=str(test.get("title", f"test {i}")),
                    tags=tuple(test.get("tags", ())),
                    view=test.get("view", {}),
                    resources=resources,
                    expect=test.get("expect"),
                    expect_count=test.get("expectCount"),
                    expect_error=bool(test.get("expectError", False)),
                    expect_columns=test.get("expectColumns"),
                )
            )
    if not cases:
        raise BmbError(f"conformance suite {suite}: no test files (*.json) found")
    return cases


def canonical(value: Any) -> Any:
    """A value in a form where equal FHIR values compare equal (1 == 1.0, lists, dicts)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float | Decimal):
        number = float(value)
        return int(number) if number.is_integer() else round(number, 12)
    if isinstance(value, list):
        return [canonical(v) for v in value]
    if isinstance(value, dict):
        return {k: canonical(v) for k, v in sorted(value.items())}
    return value


def _row_key(row: dict[str, Any]) -> str:
    return json.dumps(canonical(row), sort_keys=True)


def run_case(case: Case, evaluate: Evaluator) -> Outcome:
    """Run one case with ``evaluate(view, resources) -> rows`` and judge it."""
    try:
        parse_view(case.view, case.id)
        rows = evaluate(case.view, case.resources)
    except BmbError as exc:
        if case.expect_error:
            return Outcome(case, True)
        return Outcome(case, False, f"error: {exc}")
    if case.expect_error:
        return Outcome(case, False, f"expected an error, got {len(rows)} row(s)")
    if case.expect_count is not None:
        ok = len(rows) == case.expect_count
        return Outcome(
            case, ok, "" if ok else f"expected {case.expect_count} rows, got {len(rows)}"
        )
    if case.expect_columns is not None and rows:
        got = list(rows[0])
        if got != case.expect_columns:
            return Outcome(case, False, f"columns {got}, expected {case.expect_columns}")
    expected = sorted(_row_key(r) for r in case.expect or [])
    observed = sorted(_row_key(r) for r in rows)
    if expected == observed:
        return Outcome(case, True)
    return Outcome(case, False, f"rows differ: expected {expected[:5]}, got {observed[:5]}")


def run_suite(cases: list[Case], evaluate: Evaluator, progress: Progress | None = None) -> Report:
    """Run every case; a failing case never stops the others."""
    progress = progress or NullProgress()
    report = Report()
    progress.start("conformance", total=len(cases))
    for case in cases:
        report.outcomes.append(run_case(case, evaluate))
        progress.advance("conformance")
    progress.finish("conformance")
    return report
