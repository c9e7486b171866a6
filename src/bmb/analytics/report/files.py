"""Write a result table where the user asked, in the format its extension names.

Every format carries the result's provenance (invariant 7): Parquet in its schema
metadata, CSV in a ``<file>.provenance.json`` sidecar (a CSV has nowhere else to put it
that every reader tolerates), JSON beside the rows, HTML in the page's header.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from bmb.domain.errors import UsageError
from bmb.domain.provenance import Provenance

if TYPE_CHECKING:
    import pyarrow as pa

FORMATS = (".csv", ".parquet", ".json", ".html")


def sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".provenance.json")


def write_result(
    table: pa.Table,
    path: str | Path,
    provenance: Provenance,
    *,
    html: Callable[[], str] | None = None,
    extra: dict[str, str] | None = None,
) -> Path:
    """Write ``table`` to ``path``; ``html`` renders the page for ``.html`` paths."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in FORMATS:
        raise UsageError(
            f"{p}: unknown output format {suffix or '(none)'}",
            hint=f"use one of {', '.join(FORMATS)}",
        )
    p.parent.mkdir(parents=True, exist_ok=True)
    meta = {**provenance.as_dict(), **{f"bmb.{k}": v for k, v in (extra or {}).items()}}
    tmp = p.with_name(f".{p.name}.tmp")
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        schema = table.schema.with_metadata({**(table.schema.metadata or {}), **meta})
        pq.write_table(table.cast(schema), tmp, compression="zstd")
    elif suffix == ".csv":
        from pyarrow import csv

        csv.write_csv(table, tmp)
        sidecar(p).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    elif suffix == ".json":
        doc = {"provenance": meta, "rows": table.to_pylist()}
        tmp.write_text(json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8")
    else:
        if html is None:
            raise UsageError(f"{p}: this result has no HTML page", hint="use .csv or .parquet")
        tmp.write_text(html(), encoding="utf-8")
    tmp.replace(p)
    return p


def read_provenance(path: str | Path) -> Provenance:
    """The provenance a BMB output file carries (Parquet, CSV sidecar, JSON)."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        raw = pq.read_schema(p).metadata or {}
        meta = {k.decode(): v.decode() for k, v in raw.items()}
    elif suffix == ".csv":
        meta = json.loads(sidecar(p).read_text(encoding="utf-8"))
    elif suffix == ".json":
        meta = json.loads(p.read_text(encoding="utf-8"))["provenance"]
    else:
        raise ValueError(f"{p}: provenance is read from .parquet, .csv or .json files")
    return Provenance.from_dict(meta)
