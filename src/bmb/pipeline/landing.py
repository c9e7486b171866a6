"""Landing: keep the raw bytes exactly as received, named by their content hash.

The landing zone is the only place identifiers may live. A file whose hash is already
in the landed-file registry of a committed batch is not ingested again: re-running an
ingestion is a no-op, reported as such.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from bmb.domain.flows import parse_file_name
from bmb.domain.flows.layout import Layout
from bmb.lake.paths import LakePaths


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A flow file found on the command line, before landing."""

    path: Path
    layout: Layout
    region: str
    period: str  # YYYYMM

    @property
    def flow(self) -> str:
        return self.layout.flow

    @property
    def layout_name(self) -> str:
        return self.layout.name


#: File names BMB reads as FHIR: Bulk Data NDJSON, and JSON Bundles or single resources.
FHIR_NDJSON_SUFFIXES = (".ndjson", ".ndjson.gz", ".jsonl", ".jsonl.gz")
FHIR_JSON_SUFFIXES = (".json", ".json.gz")


@dataclass(frozen=True, slots=True)
class FhirFile:
    """A FHIR file found on the command line: NDJSON (Bulk Data) or a JSON Bundle.

    FHIR files carry no period in their name; they are batched by size after the flows
    (``bmb.pipeline.fhir``). Their layout in the ledger and the quarantine is ``fhir``.
    """

    path: Path
    period: str = ""
    layout_name: str = "fhir"

    @property
    def ndjson(self) -> bool:
        return self.path.name.lower().endswith(FHIR_NDJSON_SUFFIXES)


def split_fhir(other: list[Path]) -> tuple[list[FhirFile], list[Path]]:
    """FHIR files among the files that are not flows, and what remains unsupported.

    NDJSON files are FHIR by name. A ``.json`` file is FHIR when its beginning names a
    ``resourceType``, so that a manifest or settings file lying beside an export is
    listed as not read rather than quarantined as a bad resource.
    """
    fhir: list[FhirFile] = []
    rest: list[Path] = []
    for p in other:
        name = p.name.lower()
        ndjson = name.endswith(FHIR_NDJSON_SUFFIXES)
        bundle = name.endswith(FHIR_JSON_SUFFIXES) and _names_a_resource(p)
        if (ndjson or bundle) and not name.startswith("."):
            fhir.append(FhirFile(p))
        else:
            rest.append(p)
    return fhir, rest


def _names_a_resource(path: Path) -> bool:
    try:
        with gzip.open(path, "rb") if path.name.lower().endswith(".gz") else path.open("rb") as fh:
            head = fh.read(1 << 16)
    except (OSError, EOFError):
        return True  # unreadable: ingest it, and let the quarantine say what is wrong
    return b'"resourceType"' in head


@dataclass(frozen=True, slots=True)
class LandedFile:
    """A file copied into the landing zone."""

    source: SourceFile | FhirFile
    sha256: str
    size: int
    landed: Path


def discover(paths: list[Path]) -> tuple[list[SourceFile], list[Path]]:
    """Flow files under the given files and folders, and the files that are not flows."""
    found: list[SourceFile] = []
    other: list[Path] = []
    for p in paths:
        candidates = sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p]
        for f in candidates:
            parsed = parse_file_name(f.name)
            if parsed is None:
                other.append(f)
            else:
                layout, region, period = parsed
                found.append(SourceFile(f, layout, region, period))
    return found, other


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def land(paths: LakePaths, source: SourceFile | FhirFile, sha: str) -> LandedFile:
    """Copy the file into ``landing/raw/<sha[:2]>/<sha>/<name>`` (read-only, 0400)."""
    target_dir = paths.raw / sha[:2] / sha
    target = target_dir / source.path.name
    if not target.exists():
        target_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = target.with_suffix(target.suffix + ".part")
        shutil.copyfile(source.path, tmp)
        os.chmod(tmp, 0o400)
        os.replace(tmp, target)
    return LandedFile(source, sha, target.stat().st_size, target)
