"""What two lakes must share after an interrupted and an uninterrupted ingestion."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from bmb.engines.lake import open_lake


def fingerprint(lake: Path, tables: Iterable[str]) -> dict[str, tuple[int, int]]:
    """Rows and the sum of the id column (mod a prime) of each table."""
    out = {}
    with open_lake(lake) as e:
        for t in tables:
            ident = "person_id" if t in ("person", "death") else f"{t}_id"
            n, s = e.con.execute(
                f"SELECT count(*), coalesce(sum({ident} % 1000003), 0) FROM {t}"
            ).fetchone() or (0, 0)
            out[t] = (int(n), int(s))
    return out
