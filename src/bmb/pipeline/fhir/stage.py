"""Stage a batch's FHIR files as records: one row per resource, nothing lost.

Every landed file becomes records in the temp table ``p_fhir``, the FHIR twin of a
flow's ``p_<layout>`` (so the batch's quarantine and accounting work unchanged):

- an NDJSON line is a record (``line_number`` = its line); whitespace-only lines are
  not records (the NDJSON convention), undecodable lines go to quarantine as
  ``encoding``, lines that are not JSON as ``invalid_json``, JSON that is not a
  resource as ``not_a_resource``;
- a ``.json`` file holding a Bundle is the Bundle itself (record 0, a control record)
  plus one record per entry (``line_number`` = the entry's 1-based position); its
  ``urn:uuid:`` references are rewritten to ``Type/id`` (entries without ``id`` take
  the uuid of their ``fullUrl``); an entry without a resource is ``missing_resource``,
  a ``DELETE`` request ``unsupported_request`` (the lake does not delete);
- a ``.json`` file holding one resource is one record; one that is not JSON is one
  ``invalid_json`` record.

NDJSON is parsed by DuckDB (vectorized); Bundles by Python, one file at a time.
Records then get their type, id and version, and control marks: the Bundle wrapper,
types BMB does not map (counted per type), and earlier versions of a resource sent
again in the same batch (the latest ``meta.lastUpdated``, then the last sent, wins).
"""

from __future__ import annotations

import gzip
import json
import re
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from bmb.pipeline.batch import Batch, FileAccount, q
from bmb.pipeline.landing import FhirFile, LandedFile
from bmb.sources.fhir.ndjson import bundle_resources
from bmb.sources.fhir.omop import MAPPED_TYPES
from bmb.sources.flows.lines import read_lines

TABLE = "p_fhir"
LAYOUT = "fhir"
_RAW_LIMIT = 1 << 16  # characters of a whole unreadable .json file kept in quarantine

_SCHEMA = pa.schema(
    [
        ("_file", pa.string()),
        ("_sha", pa.string()),
        ("line_number", pa.int64()),
        ("text", pa.string()),
        ("pre_reason", pa.string()),
        ("pre_detail", pa.string()),
    ]
)


def stage_fhir(b: Batch, landed: list[LandedFile]) -> None:
    """Read the batch's FHIR files into ``p_fhir`` with types, ids, errors and marks."""
    parts: list[pa.Table] = []
    for lf in landed:
        assert isinstance(lf.source, FhirFile)
        name = lf.source.path.name
        account = FileAccount(name, lf.sha256, LAYOUT, "")
        b.accounts[name] = account
        b.files.setdefault(LAYOUT, []).append(lf)
        with b.step("read"):
            part = _ndjson(b, lf, account) if lf.source.ndjson else _json_file(b, lf, account)
        parts.append(part)
    with b.step("parse"):
        staged = pa.concat_tables(parts) if parts else _SCHEMA.empty_table()
        numbers = pa.array(np.arange(1, staged.num_rows + 1, dtype=np.int64))
        b.con.register("_fhir_stage", staged.append_column("_record", numbers))
        # One JSON parse per record: type, id and version, or NULL when not JSON.
        head = "TRY(json_extract_string(text, ['$.resourceType', '$.id', '$.meta.lastUpdated']))"
        b.con.execute(
            f"CREATE OR REPLACE TEMP TABLE {TABLE} AS SELECT _record, _file, line_number, text, "
            "h[1] AS rtype, h[2] AS fhir_id, h[3] AS last_updated, "
            "coalesce(h[2], _sha || ':' || line_number) AS _key, "
            "CASE WHEN pre_reason IS NOT NULL THEN [{'field': NULL::VARCHAR, "
            "'reason': pre_reason, 'detail': pre_detail}] "
            "WHEN h IS NULL THEN [{'field': NULL::VARCHAR, 'reason': 'invalid_json', "
            "'detail': NULL::VARCHAR}] "
            "WHEN h[1] IS NULL THEN [{'field': 'resourceType', 'reason': 'not_a_resource', "
            "'detail': 'JSON without a resourceType'}] "
            "ELSE [] END AS _errors, false AS _skip, NULL::VARCHAR AS _control "
            f"FROM (SELECT *, CASE WHEN pre_reason IS NULL THEN {head} END AS h FROM _fhir_stage)"
        )
        b.con.unregister("_fhir_stage")
        _explain_invalid_json(b)
        _mark_controls(b)


def _ndjson(b: Batch, lf: LandedFile, account: FileAccount) -> pa.Table:
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
            "_file": pa.array([lf.source.path.name] * n, pa.string()),
            "_sha": pa.array([lf.sha256] * n, pa.string()),
            "line_number": table.column("line_number"),
            "text": table.column("text"),
            "pre_reason": pa.nulls(n, pa.string()),
            "pre_detail": pa.nulls(n, pa.string()),
        },
        schema=_SCHEMA,
    )


def _json_file(b: Batch, lf: LandedFile, account: FileAccount) -> pa.Table:
    """A Bundle (wrapper + entries) or a single resource, as records.

    DuckDB parses the file (several times faster than Python's ``json``); a file it
    cannot read whole is read again by Python, whose error names line and column.
    """
    rows = _json_duckdb(b, lf)
    if rows is None:
        return _json_python(lf, account)
    account.records_in = len(rows)
    return pa.Table.from_pylist(rows, schema=_SCHEMA)


_URN_REFERENCE = re.compile(r'("reference"\s*:\s*")urn:uuid:([0-9A-Fa-f-]{36})(")')


def _json_duckdb(b: Batch, lf: LandedFile) -> list[dict[str, Any]] | None:
    name = lf.source.path.name
    source = (
        f"read_json_objects({q(str(lf.landed))}, format = 'unstructured', "
        "maximum_object_size = 2147483647)"
    )
    try:
        head = b.con.execute(
            "SELECT json_extract_string(json, '$.resourceType'), json_type(json), "
            "CASE WHEN json_extract_string(json, '$.resourceType') = 'Bundle' THEN "
            "json_merge_patch(json, json_object('entry', NULL, 'entryCount', "
            "coalesce(json_array_length(json, '$.entry'), 0)))::VARCHAR ELSE json::VARCHAR END "
            f"FROM {source}"
        ).fetchall()
        if len(head) != 1 or head[0][1] != "OBJECT":
            return None
        rtype, _, text = head[0]
        row = {"_file": name, "_sha": lf.sha256, "pre_reason": None, "pre_detail": None}
        if rtype != "Bundle":
            return [{**row, "line_number": 1, "text": text}]
        entries = b.con.execute(
            "SELECT i, e ->> 'fullUrl', e -> 'request' ->> 'method', e -> 'resource', "
            "e -> 'resource' ->> 'resourceType', e -> 'resource' ->> 'id', e::VARCHAR FROM "
            "(SELECT unnest(CAST(json_extract(json, '$.entry') AS JSON[])) AS e, "
            "generate_subscripts(CAST(json_extract(json, '$.entry') AS JSON[]), 1) AS i "
            f"FROM {source})"
        ).fetchall()
    except duckdb.Error:
        return None
    out = [{**row, "line_number": 0, "text": text}]
    targets: dict[str, str] = {}
    kept: list[tuple[int, str]] = []
    for i, full_url, method, resource, etype, rid, entry in entries:
        rejected = {**row, "line_number": i, "text": entry}
        if method == "DELETE":
            reason = ("unsupported_request", "DELETE entries are not applied")
            out.append({**rejected, "pre_reason": reason[0], "pre_detail": reason[1]})
            continue
        if resource is None or etype is None:
            reason = ("missing_resource", f"Bundle entry[{i - 1}] has no resource")
            out.append({**rejected, "pre_reason": reason[0], "pre_detail": reason[1]})
            continue
        uuid = (
            full_url.removeprefix("urn:uuid:")
            if full_url and full_url.startswith("urn:uuid:")
            else None
        )
        if rid is None and uuid is not None and resource.startswith("{"):
            rid = uuid  # the server would assign an id: the uuid stands in
            resource = '{"id":' + json.dumps(uuid) + "," + resource[1:]
        if uuid is not None and rid is not None:
            targets[uuid.lower()] = f"{etype}/{rid}"
        kept.append((i, resource))

    def rewrite(m: re.Match[str]) -> str:
        target = targets.get(m.group(2).lower())
        return m.group(0) if target is None else m.group(1) + target + m.group(3)

    for i, resource in kept:
        text = _URN_REFERENCE.sub(rewrite, resource) if targets else resource
        out.append({**row, "line_number": i, "text": text})
    return out


def _json_python(lf: LandedFile, account: FileAccount) -> pa.Table:
    """The Python reading of a ``.json`` file: slower, and names what is wrong with it."""
    rows: list[dict[str, Any]] = []
    name = lf.source.path.name

    def add(line: int, text: str, reason: str | None = None, detail: str | None = None) -> None:
        rows.append(
            {
                "_file": name,
                "_sha": lf.sha256,
                "line_number": line,
                "text": text,
                "pre_reason": reason,
                "pre_detail": detail,
            }
        )

    raw = lf.landed.read_bytes()
    if name.lower().endswith(".gz"):
        raw = gzip.decompress(raw)
    text = raw[:_RAW_LIMIT].decode("utf-8", errors="backslashreplace")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        add(1, text, "invalid_json", f"line {exc.lineno}: {exc.msg} at column {exc.colno}")
    except UnicodeDecodeError as exc:
        add(1, text, "encoding", f"not valid UTF-8 ({exc.reason} at byte {exc.start})")
    else:
        if isinstance(value, dict) and value.get("resourceType") == "Bundle":
            _bundle(value, add)
        else:
            add(1, _dump(value))
    account.records_in = len(rows)
    return pa.Table.from_pylist(rows, schema=_SCHEMA)


def _bundle(bundle: dict[str, Any], add: Any) -> None:
    entries = bundle.get("entry") or []
    wrapper = {k: v for k, v in bundle.items() if k != "entry"}
    wrapper["entryCount"] = len(entries)
    add(0, _dump(wrapper))
    good: list[tuple[int, dict[str, Any]]] = []
    for i, entry in enumerate(entries if isinstance(entries, list) else [], start=1):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        method = ((entry.get("request") or {}) if isinstance(entry, dict) else {}).get("method")
        if method == "DELETE":
            add(i, _dump(entry), "unsupported_request", "DELETE entries are not applied")
            continue
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            add(i, _dump(entry), "missing_resource", f"Bundle entry[{i - 1}] has no resource")
            continue
        full_url = entry.get("fullUrl")
        if "id" not in resource and isinstance(full_url, str) and full_url.startswith("urn:uuid:"):
            resource["id"] = full_url.removeprefix("urn:uuid:")
        good.append((i, entry))
    resolved = bundle_resources({"entry": [e for _, e in good]}, "bundle")
    for (i, _), resource in zip(good, resolved, strict=True):
        add(i, _dump(resource))


def _dump(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


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
        f"WHERE len(_errors) = 0 AND rtype NOT IN ({mapped})"
    )
    b.con.execute(
        f"UPDATE {TABLE} SET _skip = true, _control = 'superseded' FROM (SELECT _record FROM "
        f"(SELECT _record, row_number() OVER (PARTITION BY rtype, fhir_id ORDER BY "
        f"last_updated DESC NULLS LAST, _record DESC) AS rn FROM {TABLE} "
        f"WHERE len(_errors) = 0 AND NOT _skip AND fhir_id IS NOT NULL) WHERE rn > 1) d "
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
