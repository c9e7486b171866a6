"""Landing: keep the raw bytes exactly as received, named by their content hash.

The landing zone is the only place identifiers may live. A file whose hash is already
in the landed-file registry of a committed batch is not ingested again: re-running an
ingestion is a no-op, reported as such.
"""

from __future__ import annotations

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


@dataclass(frozen=True, slots=True)
class LandedFile:
    """A file copied into the landing zone."""

    source: SourceFile
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


def land(paths: LakePaths, source: SourceFile, sha: str) -> LandedFile:
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
