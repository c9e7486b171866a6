"""BMB: the biomedical data lake of a region.

Italian health flows and FHIR land here, are pseudonymized, harmonized into the
OMOP Common Data Model and put to work under the regional agency's governance.
The top-level package stays light so that ``bmb --help`` starts fast: heavy
modules are imported only when a function needs them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from bmb._version import __version__

if TYPE_CHECKING:
    from bmb.engines.lake import LakeEngine


def open_lake(path: str | Path | None = None, *, snapshot: int | None = None) -> LakeEngine:
    """Open a lake for querying: DuckDB over its current (or a given) snapshot.

    CDM tables appear as views over the snapshot's live Parquet files; nothing is
    copied. ``path`` defaults to ``$BMB_LAKE``, else ``./bmb-lake``. The result has
    ``.query(sql)`` (a pyarrow Table), ``.con`` (the DuckDB connection) and
    ``.snapshot`` (the lake snapshot every query sees).
    """
    from bmb.engines.lake import open_lake as _open

    return _open(path, snapshot=snapshot)


__all__ = ["__version__", "open_lake"]
