"""The synthetic region's ground truth, linked to the lake's person_id with the lake's key.

``bmb synth`` writes ``truth/persons.parquet`` (each resident's latent conditions, onset
dates, death) and ``truth/person_years.parquet`` (yearly true risks) keyed by fiscal
code. The lake only knows pseudonyms, so comparing a result with the truth needs the
pseudonymization key: this helper hashes the truth's fiscal codes exactly as ingestion
did. It exists for validation on synthetic data; real data has no truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bmb.domain.errors import UsageError


@dataclass(frozen=True, slots=True)
class Truth:
    """Truth tables with a ``person_id`` column added (rows that do not link dropped)."""

    persons: pa.Table
    person_years: pa.Table


def load_truth(truth_dir: Path, lake_dir: Path, key_file: Path | None = None) -> Truth:
    """Read ``truth_dir`` (a ``bmb synth`` output's ``truth/``) and link it to the lake."""
    from bmb.pipeline.pseudonymize import person_ids

    persons_path = truth_dir / "persons.parquet"
    years_path = truth_dir / "person_years.parquet"
    if not persons_path.is_file():
        raise UsageError(
            f"{persons_path} not found",
            hint="--truth takes the truth/ folder of a 'bmb synth' output",
        )
    from bmb.lake.store import Lake

    key = Lake.open(lake_dir).key(key_file)
    persons = pq.read_table(persons_path)
    ids = person_ids(key, persons.column("fiscal_code").to_pylist())
    persons = persons.append_column("person_id", ids.column("person_id"))
    persons = persons.filter(pc.is_valid(persons.column("person_id")))
    persons = persons.drop_columns(["fiscal_code"])
    years = pq.read_table(years_path) if years_path.is_file() else pa.table({})
    if years.num_rows:
        link = persons.select(["person_key", "person_id"])
        years = years.join(link, "person_key", join_type="inner")
    return Truth(persons, years)
