"""``.json`` FHIR files as records: a Bundle's entries, or the one resource a file holds.

A Bundle is its own record (number 0, a control record: its text keeps the Bundle's
type, id, meta and timestamp and its entry count) and one record per entry (its
1-based position), the resource's JSON as received. An entry without ``id`` takes the
uuid of its ``urn:uuid:`` fullUrl, as the server processing the transaction would give
it an id; a ``urn:uuid:`` reference resolves through the batch's table of fullUrls (a
UUID names one resource wherever it is referenced from). A ``DELETE`` entry is
quarantined (``unsupported_request``: the lake does not delete), an entry without a
resource too (``missing_resource``).

DuckDB parses all the batch's files in one parallel pass, each file once, straight
into the few elements needed (each entry's resource stays JSON text). A file DuckDB
cannot read whole (not JSON, not UTF-8, several documents) is tried alone, then read
by Python, whose error names line and column; such a file is one quarantined record.
"""

from __future__ import annotations

import gzip
import json
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from bmb.pipeline.batch import q
from bmb.pipeline.landing import LandedFile
from bmb.sources.fhir.ndjson import bundle_resources

if TYPE_CHECKING:
    import duckdb

Row = dict[str, Any]

_RAW_LIMIT = 1 << 16  # characters of an unreadable file kept in quarantine
_MAX_DOCUMENT = 1 << 30  # a bigger Bundle is read by Python
_ENTRY = '[{"fullUrl":"VARCHAR","request":{"method":"VARCHAR","url":"VARCHAR"},"resource":"JSON"}]'
_SPEC = (
    '{"resourceType":"VARCHAR","id":"VARCHAR","type":"VARCHAR","meta":"JSON",'
    f'"timestamp":"VARCHAR","total":"BIGINT","entry":{_ENTRY}}}'
)


def _insert(files: dict[str, tuple[int, LandedFile]], stage: str) -> str:
    """INSERT of the records of ``files`` (landed path -> (seq, file)) into ``stage``."""
    seqs = " ".join(f"WHEN {q(path)} THEN {seq}" for path, (seq, _) in files.items())
    names = " ".join(
        f"WHEN {q(path)} THEN {q(lf.source.path.name)}" for path, (_, lf) in files.items()
    )
    shas = " ".join(f"WHEN {q(path)} THEN {q(lf.sha256)}" for path, (_, lf) in files.items())
    listing = "[" + ", ".join(q(p) for p in files) + "]"
    size = _largest_document([lf for _, lf in files.values()])
    read = (
        f"SELECT CASE filename {seqs} END AS _seq, CASE filename {names} END AS _file, "
        f"CASE filename {shas} END AS _sha, json, json_transform(json, {q(_SPEC)}) AS t "
        f"FROM read_json_objects({listing}, format = 'unstructured', filename = true, "
        f"maximum_object_size = {size})"
    )
    wrapper = (
        "to_json({'resourceType': t.resourceType, 'id': t.id, 'type': t.type, 'meta': t.meta, "
        "'timestamp': t.timestamp, 'total': t.total, 'entryCount': len(t.entry)})::VARCHAR"
    )
    entry = (
        "CASE WHEN e.request.method = 'DELETE' THEN 'unsupported_request' "
        "WHEN e.resource IS NULL OR json_extract_string(e.resource, '$.resourceType') IS NULL "
        "THEN 'missing_resource' END"
    )
    return (
        f"INSERT INTO {stage} WITH f AS ({read}) "
        "SELECT _seq, _file, _sha, CASE WHEN t.resourceType = 'Bundle' THEN 0 ELSE 1 END, "
        f"CASE WHEN t.resourceType = 'Bundle' THEN {wrapper} ELSE json::VARCHAR END, "
        "NULL, NULL, NULL FROM f "
        "UNION ALL SELECT _seq, _file, _sha, i, "
        f"CASE WHEN {entry} IS NULL THEN e.resource::VARCHAR ELSE to_json(e)::VARCHAR END, "
        f"{entry}, CASE {entry} WHEN 'unsupported_request' THEN 'DELETE entries are not "
        "applied' WHEN 'missing_resource' THEN 'Bundle entry[' || (i - 1) || '] has no "
        "resource' END, e.fullUrl FROM (SELECT _seq, _file, _sha, unnest(t.entry) AS e, "
        "generate_subscripts(t.entry, 1) AS i FROM f WHERE t.resourceType = 'Bundle')"
    )


def _largest_document(files: list[LandedFile]) -> int:
    """Bytes DuckDB must be ready to hold in one JSON document (its buffers follow it).

    A gzip file's uncompressed size is in its last four bytes (modulo 4 GiB); a file
    beyond DuckDB's reach is then read by Python.
    """
    largest = 1 << 20
    for lf in files:
        size = lf.landed.stat().st_size
        if lf.source.path.name.lower().endswith(".gz"):
            with lf.landed.open("rb") as fh:
                fh.seek(-4, 2)
                size = max(size, int.from_bytes(fh.read(4), "little"))
        largest = max(largest, size)
    return min(largest + (largest >> 4) + 1024, _MAX_DOCUMENT)


def stage_json_files(
    con: duckdb.DuckDBPyConnection,
    stage: str,
    schema: pa.Schema,
    files: list[tuple[int, LandedFile]],
) -> None:
    """Insert the records of the ``.json`` files (with their batch positions) into ``stage``.

    ``schema`` is the stage's, for the rows Python reads.
    """
    import duckdb

    if not files:
        return
    try:
        con.execute(_insert({str(lf.landed): (seq, lf) for seq, lf in files}, stage))
        pending = _unread(con, stage, files)
    except duckdb.Error:  # one file DuckDB cannot read spoils the pass: each alone
        pending = []
        for seq, lf in files:
            try:
                con.execute(_insert({str(lf.landed): (seq, lf)}, stage))
                pending += _unread(con, stage, [(seq, lf)])
            except duckdb.Error:
                pending.append((seq, lf))
    for seq, lf in pending:
        con.register("_json_rows", pa.Table.from_pylist(_python(seq, lf), schema=schema))
        con.execute(f"INSERT INTO {stage} SELECT * FROM _json_rows")
        con.unregister("_json_rows")


def _unread(
    con: duckdb.DuckDBPyConnection, stage: str, files: list[tuple[int, LandedFile]]
) -> list[tuple[int, LandedFile]]:
    """Files DuckDB staged nothing for, or several documents for (their rows are removed).

    A file is one document: one Bundle (one record 0, entry numbers unique) or one
    resource (one record 1). Anything else is not a FHIR JSON file; Python says why.
    """
    seqs = ", ".join(str(seq) for seq, _ in files)
    counts = {
        int(seq): (int(n), int(zero), int(one))
        for seq, n, zero, one in con.execute(
            "SELECT _seq, count(*), count(*) FILTER (line_number = 0), "
            f"count(*) FILTER (line_number = 1) FROM {stage} WHERE _seq IN ({seqs}) GROUP BY 1"
        ).fetchall()
    }
    bad = [
        seq
        for seq, (n, zero, one) in counts.items()
        if zero > 1 or one > 1 or (zero == 0 and n > 1)
    ]
    if bad:
        con.execute(f"DELETE FROM {stage} WHERE _seq IN ({', '.join(map(str, bad))})")
    return [(seq, lf) for seq, lf in files if seq not in counts or seq in bad]


def _python(seq: int, lf: LandedFile) -> list[Row]:
    """Python's reading of a file DuckDB could not read: it names what is wrong."""
    row: Row = {
        "_seq": seq,
        "_file": lf.source.path.name,
        "_sha": lf.sha256,
        "line_number": 1,
        "full_url": None,
    }
    raw = lf.landed.read_bytes()
    if lf.source.path.name.lower().endswith(".gz"):
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            return [{**row, "text": "", "pre_reason": "invalid_json", "pre_detail": f"gzip: {exc}"}]
    text = raw[:_RAW_LIMIT].decode("utf-8", errors="backslashreplace")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        detail = f"line {exc.lineno}: {exc.msg} at column {exc.colno}"
        return [{**row, "text": text, "pre_reason": "invalid_json", "pre_detail": detail}]
    except UnicodeDecodeError as exc:
        detail = f"not valid UTF-8 ({exc.reason} at byte {exc.start})"
        return [{**row, "text": text, "pre_reason": "encoding", "pre_detail": detail}]
    ok: Row = {**row, "pre_reason": None, "pre_detail": None}
    if not (isinstance(value, dict) and value.get("resourceType") == "Bundle"):
        return [{**ok, "text": _dump(value)}]
    # valid JSON DuckDB would not read (beyond its limits): the same records, by Python
    entries = value.get("entry") or []
    wrapper = {k: v for k, v in value.items() if k != "entry"}
    out = [{**ok, "line_number": 0, "text": _dump({**wrapper, "entryCount": len(entries)})}]
    good: list[tuple[int, dict[str, Any]]] = []
    for i, entry in enumerate(entries if isinstance(entries, list) else [], start=1):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        method = ((entry.get("request") or {}) if isinstance(entry, dict) else {}).get("method")
        if method == "DELETE" or not (isinstance(resource, dict) and "resourceType" in resource):
            reason = "unsupported_request" if method == "DELETE" else "missing_resource"
            out.append({**ok, "line_number": i, "text": _dump(entry), "pre_reason": reason})
            continue
        good.append((i, entry))
    resolved = bundle_resources({"entry": [e for _, e in good]}, lf.source.path)
    for (i, entry), resource in zip(good, resolved, strict=True):
        url = entry.get("fullUrl")
        out.append({**ok, "line_number": i, "text": _dump(resource), "full_url": url})
    return out


def _dump(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
