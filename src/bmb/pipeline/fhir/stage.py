"""Stage a batch's FHIR files as records: one row per resource, nothing lost.

Every landed file becomes records in the temp table ``p_fhir``, the FHIR twin of a
flow's ``p_<layout>`` (so the batch's quarantine and accounting work unchanged):

- an NDJSON line is a record (``line_number`` = its line); whitespace-only lines are
  not records (the NDJSON convention), undecodable lines go to quarantine as
  ``encoding``, lines that are not JSON as ``invalid_json``, JSON that is not a
  resource as ``not_a_resource``;
- a ``.json`` file holding a Bundle is the Bundle itself (record 0, a control record)
  plus one record per entry, one holding a single resource is one record
  (:mod:`.bundles`).

JSON is parsed by DuckDB, once per record (type, id, version). Records then get
their control marks: the Bundle wrapper, types BMB does not map (counted per type),
and earlier versions of a resource sent again in the same batch (the latest
``meta.lastUpdated``, then the last sent, wins).
"""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.compute as pc

from bmb.pipeline.batch import CHECK_COLUMNS, Batch, FileAccount
from bmb.pipeline.fhir.bundles import stage_json_files
from bmb.pipeline.landing import FhirFile, LandedFile
from bmb.sources.fhir.omop import MAPPED_TYPES
from bmb.sources.flows.lines import read_lines

TABLE = "p_fhir"
LAYOUT = "fhir"

SCHEMA = pa.schema(
    [
        ("_seq", pa.int64()),  # the file's position in the batch
        ("_file", pa.string()),
        ("_sha", pa.string()),
        ("line_number", pa.int64()),
        ("text", pa.string()),
        ("pre_reason", pa.string()),
        ("pre_detail", pa.string()),
        ("full_url", pa.string()),  # a Bundle entry's fullUrl
    ]
)
STAGE = "_fhir_stage"


def stage_fhir(b: Batch, landed: list[LandedFile]) -> None:
    """Read the batch's FHIR files into ``p_fhir`` with types, ids, errors and marks."""
    cols = ", ".join(f"{f.name} {_DUCK[f.type]}" for f in SCHEMA)
    b.con.execute(f"CREATE OR REPLACE TEMP TABLE {STAGE} ({cols})")
    json_files: list[tuple[int, LandedFile]] = []
    for seq, lf in enumerate(landed):
        assert isinstance(lf.source, FhirFile)
        name = lf.source.path.name
        b.accounts[name] = FileAccount(name, lf.sha256, LAYOUT, "")
        b.files.setdefault(LAYOUT, []).append(lf)
        if lf.source.ndjson:
            with b.step("read"):
                part = _ndjson(b, seq, lf, b.accounts[name])
                b.con.register("_part", part)
                b.con.execute(f"INSERT INTO {STAGE} SELECT * FROM _part")
                b.con.unregister("_part")
        else:
            json_files.append((seq, lf))
    with b.step("read"):
        stage_json_files(b.con, STAGE, SCHEMA, json_files)
        counts = dict(
            b.con.execute(
                f"SELECT _file, count(*) FROM {STAGE} WHERE _seq IN "
                f"({', '.join(str(s) for s, _ in json_files) or 'NULL'}) GROUP BY 1"
            ).fetchall()
        )
        for _, lf in json_files:
            b.accounts[lf.source.path.name].records_in = int(counts.get(lf.source.path.name, 0))
    with b.step("parse"):
        # One JSON parse per record: type, id and version, or NULL when not JSON.
        head = "TRY(json_extract_string(text, ['$.resourceType', '$.id', '$.meta.lastUpdated']))"
        uuid = "CASE WHEN full_url LIKE 'urn:uuid:%' THEN lower(substr(full_url, 10)) END"
        b.con.execute(
            f"CREATE OR REPLACE TEMP TABLE {TABLE} AS SELECT *, {CHECK_COLUMNS} FROM (SELECT "
            "CAST(row_number() OVER (ORDER BY _seq, line_number) AS BIGINT) AS _record, "
            "_file, line_number, text, h[1] AS rtype, coalesce(h[2], uuid) AS fhir_id, "
            "h[3] AS last_updated, coalesce(h[2], uuid, _sha || ':' || line_number) AS _key, "
            "uuid AS _urn, "
            "CASE WHEN pre_reason IS NOT NULL THEN [{'field': NULL::VARCHAR, "
            "'reason': pre_reason, 'detail': pre_detail}] "
            "WHEN h IS NULL THEN [{'field': NULL::VARCHAR, 'reason': 'invalid_json', "
            "'detail': NULL::VARCHAR}] "
            "WHEN h[1] IS NULL THEN [{'field': 'resourceType', 'reason': 'not_a_resource', "
            "'detail': 'JSON without a resourceType'}] "
            "ELSE [] END AS _errors, false AS _skip, NULL::VARCHAR AS _control "
            f"FROM (SELECT *, CASE WHEN pre_reason IS NULL THEN {head} END AS h, {uuid} AS uuid "
            f"FROM {STAGE}))"
        )
        b.con.execute(f"DROP TABLE {STAGE}")
        # A Bundle's urn:uuid names one resource wherever it is referenced from.
        # (a resource repeated in several Bundles repeats its fullUrl: one row each)
        b.con.execute(
            "CREATE OR REPLACE TEMP TABLE _urn AS SELECT _urn AS uuid, rtype, "
            f"min(fhir_id) AS fhir_id FROM {TABLE} WHERE _urn IS NOT NULL AND _ok "
            "GROUP BY 1, 2"
        )
        _explain_invalid_json(b)
        _mark_controls(b)


_DUCK = {pa.int64(): "BIGINT", pa.string(): "VARCHAR"}


def _ndjson(b: Batch, seq: int, lf: LandedFile, account: FileAccount) -> pa.Table:
    lines = read_lines(lf.landed)
    table = lines.table
    blank = pc.equal(pc.utf8_trim_whitespace(table.column("text")), "")
    table = table.filter(pc.invert(blank))
    account.records_in = table.num_rows + len(lines.bad_encoding)
    for line_no, text in lines.bad_encoding:
        b.bad_encoding.append(
            {
                "batch_id": b.batch_id,
                "file_name": lf.source.path.name,
                "file_sha256": lf.sha256,
                "layout": LAYOUT,
                "line_number": line_no,
                "field": None,
                "reason": "encoding",
                "detail": "not valid UTF-8",
                "raw_record": text,
            }
        )
    n = table.num_rows
    return pa.table(
        {
            "_seq": pa.array([seq] * n, pa.int64()),
            "_file": pa.array([lf.source.path.name] * n, pa.string()),
            "_sha": pa.array([lf.sha256] * n, pa.string()),
            "line_number": table.column("line_number"),
            "text": table.column("text"),
            "pre_reason": pa.nulls(n, pa.string()),
            "pre_detail": pa.nulls(n, pa.string()),
            "full_url": pa.nulls(n, pa.string()),
        },
        schema=SCHEMA,
    )


def _explain_invalid_json(b: Batch) -> None:
    """Python's own message for each line DuckDB found not to be JSON (there are few)."""
    bad = b.con.execute(
        f"SELECT _record, text FROM {TABLE} WHERE _errors[1].reason = 'invalid_json' "
        "AND _errors[1].detail IS NULL"
    ).fetchall()
    if not bad:
        return
    details = []
    for record, text in bad:
        try:
            json.loads(text)
            msg = "not valid JSON"
        except json.JSONDecodeError as exc:
            msg = f"{exc.msg} at column {exc.colno}"
        details.append((record, msg))
    records = pa.array([r for r, _ in details], pa.int64())
    b.con.register("_bad_json", pa.table({"record": records, "msg": [m for _, m in details]}))
    b.con.execute(
        f"UPDATE {TABLE} SET _errors = [{{'field': NULL::VARCHAR, 'reason': 'invalid_json', "
        f"'detail': d.msg}}] FROM _bad_json d WHERE {TABLE}._record = d.record"
    )
    b.con.unregister("_bad_json")


def _mark_controls(b: Batch) -> None:
    """Bundle wrappers, unsupported types and superseded versions are control records."""
    mapped = ", ".join(f"'{t}'" for t in sorted(MAPPED_TYPES))
    b.con.execute(
        f"UPDATE {TABLE} SET _skip = true, _control = CASE WHEN rtype = 'Bundle' "
        f"AND line_number = 0 THEN 'bundle' ELSE 'unsupported' END "
        f"WHERE _ok AND rtype NOT IN ({mapped})"
    )
    b.con.execute(
        f"UPDATE {TABLE} SET _skip = true, _control = 'superseded' FROM (SELECT _record FROM "
        f"(SELECT _record, row_number() OVER (PARTITION BY rtype, fhir_id ORDER BY "
        f"last_updated DESC NULLS LAST, _record DESC) AS rn FROM {TABLE} "
        f"WHERE _ok AND NOT _skip AND fhir_id IS NOT NULL) WHERE rn > 1) d "
        f"WHERE {TABLE}._record = d._record"
    )


def unsupported_by_file(b: Batch) -> dict[str, dict[str, int]]:
    """Records of unmapped resource types per file and type (reported, never dropped)."""
    out: dict[str, dict[str, int]] = {}
    for name, rtype, n in b.con.execute(
        f"SELECT _file, rtype, count(*) FROM {TABLE} WHERE _control = 'unsupported' "
        "GROUP BY ALL ORDER BY 1, 3 DESC, 2"
    ).fetchall():
        out.setdefault(str(name), {})[str(rtype)] = int(n)
    return out
