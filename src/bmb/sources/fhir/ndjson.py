"""Reading FHIR resources from files: bulk NDJSON (plain or gzip) and Bundles.

Bulk Data exports are NDJSON, one resource per line, usually one file per resource
type. Transaction or collection Bundles (Synthea writes these) are read whole and
their ``urn:uuid:`` references are rewritten to ``Type/id`` from the entries'
``fullUrl``, so ``getReferenceKey()`` resolves them as it does bulk references.
Every error names the file and the line, and nothing is read into memory beyond
the chunk being processed.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from bmb.sources.fhir.errors import FhirInputError

NDJSON_SUFFIXES = (".ndjson", ".jsonl", ".ndjson.gz", ".jsonl.gz")


def is_ndjson(path: Path) -> bool:
    """Whether a file is newline-delimited JSON by its name."""
    return path.name.lower().endswith(NDJSON_SUFFIXES)


def _open(path: Path) -> IO[str]:
    try:
        if path.name.lower().endswith(".gz"):
            return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8")
        return path.open(encoding="utf-8")
    except FileNotFoundError:
        raise FhirInputError(f"{path}: file not found") from None
    except OSError as exc:
        raise FhirInputError(f"{path}: cannot be read ({exc.strerror or exc})") from None


def parse_line(text: str, path: Path | str, line: int) -> dict[str, Any]:
    """One NDJSON line as a resource; a clear error naming file and line otherwise."""
    try:
        value = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise FhirInputError(
            f"{path}, line {line}: not valid JSON ({exc.msg} at column {exc.colno})",
            hint="each line of an NDJSON file must be one complete FHIR resource",
        ) from None
    if not isinstance(value, dict) or not isinstance(value.get("resourceType"), str):
        raise FhirInputError(f"{path}, line {line}: not a FHIR resource (no resourceType)")
    return value


def iter_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Non-blank lines of an NDJSON file with their 1-based line numbers."""
    with _open(path) as handle:
        try:
            for number, text in enumerate(handle, start=1):
                if text.strip():
                    yield number, text
        except (OSError, EOFError, UnicodeDecodeError) as exc:
            raise FhirInputError(f"{path}: cannot be read past line {number}: {exc}") from None


def iter_chunks(path: Path, lines: int) -> Iterator[tuple[int, list[str]]]:
    """NDJSON lines in chunks of ``lines``, each with the line number of its first line."""
    chunk: list[str] = []
    first = 1
    for number, text in iter_lines(path):
        if not chunk:
            first = number
        chunk.append(text)
        if len(chunk) >= lines:
            yield first, chunk
            chunk = []
    if chunk:
        yield first, chunk


def _rewrite_references(value: Any, targets: dict[str, str]) -> None:
    if isinstance(value, dict):
        ref = value.get("reference")
        if isinstance(ref, str) and ref in targets:
            value["reference"] = targets[ref]
        for child in value.values():
            if isinstance(child, dict | list):
                _rewrite_references(child, targets)
    elif isinstance(value, list):
        for child in value:
            if isinstance(child, dict | list):
                _rewrite_references(child, targets)


def bundle_resources(bundle: dict[str, Any], path: Path | str) -> list[dict[str, Any]]:
    """The resources of a Bundle, with bundle-local references made ``Type/id``."""
    entries = bundle.get("entry") or []
    resources: list[dict[str, Any]] = []
    targets: dict[str, str] = {}
    for i, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or "resourceType" not in resource:
            raise FhirInputError(f"{path}: Bundle entry[{i}] has no resource")
        resources.append(resource)
        full_url = entry.get("fullUrl")
        if isinstance(full_url, str) and isinstance(resource.get("id"), str):
            targets[full_url] = f"{resource['resourceType']}/{resource['id']}"
    if targets:
        for resource in resources:
            _rewrite_references(resource, targets)
    return resources


def read_json_file(path: Path) -> list[dict[str, Any]]:
    """A ``.json``/``.json.gz`` file: a Bundle's resources, or the one resource it holds."""
    with _open(path) as handle:
        try:
            value = json.load(handle, parse_float=Decimal)
        except json.JSONDecodeError as exc:
            raise FhirInputError(
                f"{path}, line {exc.lineno}: not valid JSON ({exc.msg} at column {exc.colno})"
            ) from None
    if not isinstance(value, dict) or "resourceType" not in value:
        raise FhirInputError(f"{path}: not a FHIR resource or Bundle (no resourceType)")
    if value["resourceType"] == "Bundle":
        return bundle_resources(value, path)
    return [value]


def iter_resources(path: Path) -> Iterator[dict[str, Any]]:
    """Every resource of an input file, NDJSON or Bundle."""
    if is_ndjson(path):
        for number, text in iter_lines(path):
            yield parse_line(text, path, number)
    else:
        yield from read_json_file(path)


def first_bad_line(path: Path) -> FhirInputError | None:
    """The error for the first line of an NDJSON file that is not a resource, if any."""
    try:
        for number, text in iter_lines(path):
            parse_line(text, path, number)
    except FhirInputError as exc:
        return exc
    return None
