"""Read cohort definitions from files: ATLAS/Circe JSON, or BMB's YAML/JSON form.

The format is recognised from the content, not only the extension: a JSON document
with ``PrimaryCriteria`` is an ATLAS export (possibly wrapped as ATLAS's cohort
definition object, with the expression under ``expression``), anything else is BMB's
form (``docs/reference/cohort-model.md``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bmb.domain.cohort import CohortDefinition, CohortDefinitionError
from bmb.domain.cohort.circe import from_circe
from bmb.domain.cohort.mapping import from_mapping, to_mapping


def read_definition(path: str | Path) -> CohortDefinition:
    """Load one cohort definition; errors name the file and the path inside it."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise CohortDefinitionError(f"cannot read: {exc.strerror}", source=str(p)) from None
    data = _parse(text, p)
    if not isinstance(data, dict):
        raise CohortDefinitionError("expected a cohort definition object", source=str(p))
    inner = data.get("expression")
    if isinstance(inner, str):  # ATLAS's cohort definition object holds JSON text
        try:
            inner = json.loads(inner)
        except json.JSONDecodeError as exc:
            raise CohortDefinitionError(f"bad JSON in expression: {exc}", source=str(p)) from None
    if isinstance(inner, dict) and _is_circe(inner):
        definition = from_circe(inner, source=str(p))
        name = data.get("name")
        if name and not definition.name:
            from dataclasses import replace

            definition = replace(definition, name=str(name))
        return definition
    if _is_circe(data):
        return from_circe(data, source=str(p))
    return from_mapping(data, source=str(p))


def _is_circe(data: dict[str, Any]) -> bool:
    return any(k.lower() == "primarycriteria" for k in data)


def _parse(text: str, p: Path) -> Any:
    if p.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise CohortDefinitionError(
                f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})",
                source=str(p),
            ) from None
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise CohortDefinitionError(f"not valid YAML{where}", source=str(p)) from None


def write_definition(definition: CohortDefinition, path: str | Path) -> None:
    """Write BMB's form (YAML, or JSON for a ``.json`` path)."""
    p = Path(path)
    data = to_mapping(definition)
    if p.suffix.lower() == ".json":
        p.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
        return
    import yaml

    p.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
