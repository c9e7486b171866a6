"""Where a lake's parts live on disk, and the lake's identity file.

LAKE/
  lake.json        identity: lake id, key fingerprint, region, BMB version
  catalog.db       the Iceberg SQL catalog (SQLite)
  governance.db    the governance store (SQLite)
  warehouse/       Iceberg tables: cdm (the OMOP CDM), bmb (ledger, concepts), derived
  landing/         restricted zone (mode 0700): raw files as received, quarantine,
                   spill/ (DuckDB's temporary files while ingesting)
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bmb.domain.errors import BmbError, UsageError

LAKE_FORMAT = 1


def default_lake_dir() -> Path:
    """``$BMB_LAKE``, else ``./bmb-lake`` (DESIGN.md, the command line)."""
    return Path(os.environ.get("BMB_LAKE") or "bmb-lake")


@dataclass(frozen=True, slots=True)
class LakePaths:
    """The files and folders of one lake (the root made absolute: Iceberg needs URIs)."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root).expanduser().absolute())

    @property
    def identity(self) -> Path:
        return self.root / "lake.json"

    @property
    def catalog_db(self) -> Path:
        return self.root / "catalog.db"

    @property
    def governance_db(self) -> Path:
        return self.root / "governance.db"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse"

    @property
    def landing(self) -> Path:
        return self.root / "landing"

    @property
    def raw(self) -> Path:
        return self.landing / "raw"

    @property
    def spill(self) -> Path:
        """Where DuckDB spills ingestion work (raw records) under memory pressure."""
        return self.landing / "spill"

    @property
    def lock(self) -> Path:
        return self.root / ".ingest.lock"

    def exists(self) -> bool:
        return self.identity.is_file()


@dataclass(frozen=True, slots=True)
class LakeIdentity:
    """What ``lake.json`` says about a lake."""

    lake_id: str
    key_fingerprint: str
    region: str
    created_at: str
    bmb_version: str
    format: int = LAKE_FORMAT

    def to_json(self) -> str:
        return json.dumps(
            {
                "lake_id": self.lake_id,
                "key_fingerprint": self.key_fingerprint,
                "region": self.region,
                "created_at": self.created_at,
                "bmb_version": self.bmb_version,
                "format": self.format,
            },
            indent=2,
        )


def read_identity(paths: LakePaths) -> LakeIdentity:
    """Read ``lake.json``; a clear error if the directory is not a lake."""
    if not paths.exists():
        raise UsageError(
            f"{paths.root} is not a BMB lake (no lake.json)",
            hint="create one with 'bmb init DIR' or pass --lake",
        )
    try:
        data: dict[str, Any] = json.loads(paths.identity.read_text(encoding="utf-8"))
        return LakeIdentity(
            lake_id=str(data["lake_id"]),
            key_fingerprint=str(data["key_fingerprint"]),
            region=str(data.get("region", "")),
            created_at=str(data["created_at"]),
            bmb_version=str(data.get("bmb_version", "")),
            format=int(data.get("format", LAKE_FORMAT)),
        )
    except (KeyError, ValueError) as exc:
        raise BmbError(f"{paths.identity}: damaged lake identity file ({exc})") from exc
