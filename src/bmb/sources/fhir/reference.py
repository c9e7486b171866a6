"""The reference path: rows of a view, resource by resource, as the spec's model says.

This follows the spec's "Processing Algorithm (Model)" step for step: filter by type
and ``where``; for each selection structure take its foci (``forEach``,
``forEachOrNull``, ``repeat``, or the node itself), evaluate its columns, recurse into
nested selects and ``unionAll`` branches, and join the partial rows as a Cartesian
product. ``%rowIndex`` is the 0-based position of the focus in the nearest enclosing
iteration (0 outside any). It is the slow, obviously-right path the compiled SQL is
checked against, and the fallback for views the compiler declines.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import product
from typing import Any

from bmb.sources.fhir.errors import FhirPathError
from bmb.sources.fhir.fhirpath import Evaluation, Frame, Item, output_value, wrap
from bmb.sources.fhir.fhirpath.values import to_system
from bmb.sources.fhir.viewdef import Column, Select, ViewDefinition

Row = dict[str, Any]


class ReferenceRunner:
    """Evaluates one ViewDefinition over resources given as parsed JSON objects."""

    def __init__(self, view: ViewDefinition) -> None:
        self.view = view
        self.names = [c.name for c in view.columns]
        self._constants = view.constant_values()

    def rows(self, resource: dict[str, Any]) -> list[Row]:
        """The rows one resource produces (none if of another type or filtered out)."""
        if resource.get("resourceType") != self.view.resource:
            return []
        node = wrap(resource, None)
        constants: dict[str, list[Item]] = dict(self._constants)
        constants["rowIndex"] = [0]
        ev = Evaluation(node, constants)
        for where in self.view.where:
            result = ev.evaluate(where.expr, node)
            if not result:
                return []
            values = [to_system(v) for v in result]
            if len(values) != 1 or not isinstance(values[0], bool):
                shown = [output_value(v) for v in result][:3]
                raise FhirPathError(
                    f"{where.location}.path {where.path!r} must give a boolean, gave {shown} "
                    f"for {_label(resource)}"
                )
            if values[0] is not True:
                return []
        return self._process(ev, self.view.root, node, 0, resource)

    def tuples(self, resources: Iterator[dict[str, Any]]) -> Iterator[tuple[Any, ...]]:
        """Rows as tuples in column order, for many resources."""
        names = self.names
        for resource in resources:
            for row in self.rows(resource):
                yield tuple(row[n] for n in names)

    def _foci(self, ev: Evaluation, sel: Select, node: Item) -> list[Item]:
        if sel.iterate is None:
            return [node]
        if sel.iterate == "repeat":
            out: list[Item] = []
            self._repeat(ev, sel, node, out)
            return out
        return ev.eval(sel.exprs[0], [node], Frame(node))

    def _repeat(self, ev: Evaluation, sel: Select, node: Item, out: list[Item]) -> None:
        for expr in sel.exprs:
            for child in ev.eval(expr, [node], Frame(node)):
                out.append(child)
                self._repeat(ev, sel, child, out)

    def _process(
        self, ev: Evaluation, sel: Select, node: Item, row_index: int, resource: dict[str, Any]
    ) -> list[Row]:
        foci = self._foci(ev, sel, node)
        rows: list[Row] = []
        for i, focus in enumerate(foci):
            index = row_index if sel.iterate is None else i
            ev.constants["rowIndex"] = [index]  # type: ignore[index]
            parts: list[list[Row]] = []
            if sel.columns:
                parts.append([{c.name: self._value(ev, c, focus, resource) for c in sel.columns}])
            for child in sel.selects:
                parts.append(self._process(ev, child, focus, index, resource))
            if sel.union_all:
                union: list[Row] = []
                for branch in sel.union_all:
                    union.extend(self._process(ev, branch, focus, index, resource))
                parts.append(union)
            for combination in product(*parts):
                row: Row = {}
                for part in combination:
                    row.update(part)
                rows.append(row)
        if not foci and sel.iterate == "forEachOrNull":
            # One row of nulls; %rowIndex still says "first position" (the suite expects 0).
            row = dict.fromkeys((c.name for c in sel.output_columns()), None)
            row.update({c.name: 0 for c in sel.columns if c.path.strip() == "%rowIndex"})
            rows.append(row)
        return rows

    def _value(self, ev: Evaluation, col: Column, focus: Item, resource: dict[str, Any]) -> Any:
        result = ev.eval(col.expr, [focus], Frame(focus))
        if col.collection:
            return [output_value(v) for v in result]
        if not result:
            return None
        if len(result) > 1:
            raise FhirPathError(
                f"column {col.name!r} ({col.location}.path {col.path!r}) gave {len(result)} "
                f'values for {_label(resource)}; set "collection": true or pick one '
                "(e.g. first())"
            )
        return output_value(result[0])


def _label(resource: dict[str, Any]) -> str:
    return f"{resource.get('resourceType')}/{resource.get('id')}"


def evaluate_view(view: ViewDefinition, resources: list[dict[str, Any]]) -> list[Row]:
    """All rows of ``view`` over in-memory resources, by the reference path."""
    runner = ReferenceRunner(view)
    return [row for r in resources for row in runner.rows(r)]


__all__ = ["ReferenceRunner", "Row", "evaluate_view"]
