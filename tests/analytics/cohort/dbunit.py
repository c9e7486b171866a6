"""Read the Circe tests' DbUnit JSON datasets into CDM Arrow tables."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa

from bmb.engines.cdm_load import cdm_table


def read_dbunit(*paths: Path) -> dict[str, pa.Table]:
    """``{"cdm.person": [rows]}`` files into one Arrow table per CDM table."""
    rows: dict[str, list[dict[str, object]]] = {}
    for path in paths:
        for key, records in json.loads(path.read_text()).items():
            name = key.split(".", 1)[1].lower()
            rows.setdefault(name, []).extend({k.lower(): v for k, v in r.items()} for r in records)
    out = {}
    for name, records in rows.items():
        schema = cdm_table(name).schema
        columns: dict[str, list[object]] = {f.name: [] for f in schema}
        for r in records:
            for f in schema:
                columns[f.name].append(_value(r.get(f.name), f.type))
        out[name] = pa.table(columns, schema=schema)
    return out


def _value(v: object, t: pa.DataType) -> object:
    if v is None:
        return None
    if pa.types.is_date(t):
        return dt.date.fromisoformat(str(v)[:10])
    if pa.types.is_timestamp(t):
        return dt.datetime.fromisoformat(str(v))
    return v
