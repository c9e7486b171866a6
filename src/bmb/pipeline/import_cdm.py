"""``bmb import-cdm``: an existing OMOP CDM (CSV files, a folder or a zip) into the lake.

For regions that already run an OMOP database, and for OHDSI's test databases
(Eunomia). The CDM's rows are already pseudonymized by whoever built it: they are taken
as they are. Clinical tables are appended; vocabulary tables are merged with the lake's
(the imported concepts win over BMB's local concepts for the same id). One lake snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from bmb.domain.cdm import VOCABULARY_TABLES
from bmb.lake.snapshots import LakeSnapshot
from bmb.lake.store import BatchRecord, Lake, TableWrite, new_batch_id
from bmb.pipeline.writer import write_arrow
from bmb.sources.cdm_csv import read_cdm_csv

#: Key of each vocabulary table, to merge an import with what the lake has.
_VOCAB_KEYS = {
    "concept": ("concept_id",),
    "vocabulary": ("vocabulary_id",),
    "domain": ("domain_id",),
    "concept_class": ("concept_class_id",),
    "relationship": ("relationship_id",),
    "concept_relationship": ("concept_id_1", "concept_id_2", "relationship_id"),
    "concept_ancestor": ("ancestor_concept_id", "descendant_concept_id"),
    "concept_synonym": ("concept_id", "concept_synonym_name", "language_concept_id"),
    "drug_strength": ("drug_concept_id", "ingredient_concept_id"),
    "source_to_concept_map": ("source_code", "source_vocabulary_id", "target_concept_id"),
}


@dataclass
class ImportReport:
    snapshot: LakeSnapshot
    rows: dict[str, int] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def _merge(existing: pa.Table, imported: pa.Table, key: tuple[str, ...]) -> pa.Table:
    """Imported rows plus the existing rows whose key the import does not have."""
    if existing.num_rows == 0:
        return imported
    if len(key) == 1:
        keep = pc.invert(pc.is_in(existing[key[0]], value_set=imported[key[0]]))
    else:
        joined = pc.binary_join_element_wise(*[pc.cast(existing[k], pa.string()) for k in key], "|")
        new = pc.binary_join_element_wise(*[pc.cast(imported[k], pa.string()) for k in key], "|")
        keep = pc.invert(pc.is_in(joined, value_set=new))
    kept = existing.filter(pc.fill_null(keep, True))
    return pa.concat_tables([imported, kept.cast(imported.schema)])


def import_cdm(root: Path, source: Path) -> ImportReport:
    """Import the CDM at ``source`` into the lake at ``root``."""
    import duckdb

    from bmb.lake.store import all_tables
    from bmb.lake.views import files_select

    cdm = read_cdm_csv(source)
    lake = Lake.open(root)
    with lake.writer_lock():
        lake.recover()
        record = BatchRecord(new_batch_id(), "import", datetime.now(UTC), note=f"CDM {source.name}")
        writes: list[TableWrite] = []
        rows: dict[str, int] = {}
        con = duckdb.connect()
        for name, table in cdm.tables.items():
            if table.num_rows == 0:
                continue
            qname = f"cdm.{name}"
            if name in VOCABULARY_TABLES or name == "source_to_concept_map":
                decl = all_tables()[qname]
                existing = con.sql(files_select(decl, lake.data_files(qname))).to_arrow_table()
                merged = _merge(
                    existing, table, _VOCAB_KEYS.get(name, ()) or tuple(decl.field_names[:1])
                )
                writes.append(write_arrow(lake, qname, record.batch_id, merged, replace_all=True))
            else:
                writes.append(write_arrow(lake, qname, record.batch_id, table))
            rows[name] = table.num_rows
        con.close()
        record.rows_out = rows
        record.records_in = sum(rows.values())
        snap = lake.commit(record, writes)
    return ImportReport(snap, rows, cdm.notes)
