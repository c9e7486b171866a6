"""Read an OMOP CDM held as CSV files (a folder or a zip) into typed Arrow tables.

This is how an existing OMOP database enters BMB (``bmb import-cdm``) and how tests
get Eunomia's GiBleed and Synthea datasets. Each file is typed by the CDM v5.4
declarations (``bmb.domain.cdm``): columns come out in the spec's order, missing
columns are NULL, and a CDM v5.3 file is read into v5.4 (renamed columns follow the
official migration). Values that cannot be typed stop the read with an error naming
file, row and column; nothing is silently lost, and whatever is left out (a table or
column the spec does not know) is listed in :attr:`CdmCsv.notes`.
"""

from __future__ import annotations

import gzip
import io
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import csv

from bmb.domain.cdm import CDM_TABLES, CdmField, CdmTable
from bmb.domain.errors import DataError

#: Columns renamed between CDM v5.3 and v5.4 (table -> old name -> new name).
V53_RENAMES: dict[str, dict[str, str]] = {
    "visit_occurrence": {
        "admitting_source_concept_id": "admitted_from_concept_id",
        "admitting_source_value": "admitted_from_source_value",
        "discharge_to_concept_id": "discharged_to_concept_id",
        "discharge_to_source_value": "discharged_to_source_value",
    },
    "visit_detail": {
        "admitting_source_concept_id": "admitted_from_concept_id",
        "admitting_source_value": "admitted_from_source_value",
        "discharge_to_concept_id": "discharged_to_concept_id",
        "discharge_to_source_value": "discharged_to_source_value",
        "visit_detail_parent_id": "parent_visit_detail_id",
    },
}

_DATE_FORMATS = ("%Y-%m-%d", "%Y%m%d", "%Y/%m/%d")
_DATETIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")


@dataclass(frozen=True, slots=True)
class CdmCsv:
    """The tables read, by CDM name, and what was left out or adapted."""

    tables: dict[str, pa.Table]
    notes: tuple[str, ...]


def arrow_type(field: CdmField) -> pa.DataType:
    """The Arrow type of a CDM field (the same mapping the lake stores)."""
    return {
        "integer": pa.int64(),
        "float": pa.float64(),
        "date": pa.date32(),
        "datetime": pa.timestamp("us"),
    }.get(field.kind, pa.string())


def arrow_schema(table: CdmTable) -> pa.Schema:
    return pa.schema([pa.field(f.name, arrow_type(f)) for f in table.fields])


def read_cdm_csv(path: str | Path, *, tables: Iterable[str] | None = None) -> CdmCsv:
    """Read every CDM table found in a folder or zip of ``<table>.csv[.gz]`` files.

    ``tables`` limits the read to those tables. File names match tables
    case-insensitively (``CONCEPT.csv`` is ``concept``).
    """
    root = Path(path)
    if not root.exists():
        raise DataError(f"{root}: no such file or folder", hint="give a CDM CSV folder or zip")
    wanted = None if tables is None else {t.lower() for t in tables}
    if wanted is not None and (unknown := wanted - set(CDM_TABLES)):
        raise DataError(f"not OMOP CDM v5.4 tables: {', '.join(sorted(unknown))}")
    out: dict[str, pa.Table] = {}
    notes: list[str] = []
    found = False
    for name, label, data in _files(root):
        found = True
        if name not in CDM_TABLES:
            notes.append(f"{label}: not an OMOP CDM v5.4 table, skipped")
            continue
        if wanted is not None and name not in wanted:
            continue
        if name in out:
            raise DataError(f"{label}: table {name} found twice")
        table, table_notes = _read_table(CDM_TABLES[name], label, data)
        out[name] = table
        notes.extend(table_notes)
    if not found:
        raise DataError(f"{root}: no CSV files found", hint="expected <table>.csv or .csv.gz")
    return CdmCsv(out, tuple(notes))


def _files(root: Path) -> Iterator[tuple[str, str, bytes]]:
    """(table name, label for messages, bytes) of each CSV file, decompressed."""
    if root.is_dir():
        for p in sorted(root.iterdir()):
            name = _table_name(p.name)
            if name is not None and p.is_file():
                yield name, str(p), _decompress(p.name, p.read_bytes())
        return
    if not zipfile.is_zipfile(root):
        raise DataError(f"{root}: neither a folder nor a zip file")
    with zipfile.ZipFile(root) as zf:
        for info in sorted(zf.infolist(), key=lambda i: i.filename):
            pure = PurePosixPath(info.filename)
            if info.is_dir() or "__MACOSX" in pure.parts:
                continue
            name = _table_name(pure.name)
            if name is not None:
                label = f"{root}!{info.filename}"
                yield name, label, _decompress(pure.name, zf.read(info))


def _table_name(filename: str) -> str | None:
    if filename.startswith("."):
        return None
    low = filename.lower()
    for suffix in (".csv.gz", ".csv"):
        if low.endswith(suffix):
            return low[: -len(suffix)]
    return None


def _decompress(filename: str, data: bytes) -> bytes:
    return gzip.decompress(data) if filename.lower().endswith(".gz") else data


def _read_table(decl: CdmTable, label: str, data: bytes) -> tuple[pa.Table, list[str]]:
    notes: list[str] = []
    try:
        raw = csv.read_csv(
            io.BytesIO(data),
            read_options=csv.ReadOptions(block_size=1 << 24),
            convert_options=csv.ConvertOptions(
                column_types=_all_strings(data), strings_can_be_null=False
            ),
        )
    except pa.ArrowInvalid as exc:
        raise DataError(f"{label}: not a readable CSV file ({exc})") from None
    renames = V53_RENAMES.get(decl.name, {})
    # The spec quotes reserved words ('"offset"'); files do not.
    declared = {f.name.strip('"'): f.name for f in decl.fields}
    columns: dict[str, pa.Array] = {}
    for original in raw.column_names:
        col = original.strip().lower()
        if col in renames:
            notes.append(f"{label}: column {col} read as {renames[col]} (CDM v5.3 to v5.4)")
            col = renames[col]
        if col not in declared:
            notes.append(f"{label}: column {col} is not in CDM v5.4 {decl.name}, skipped")
            continue
        columns[declared[col]] = raw.column(original).combine_chunks()
    arrays = []
    for f in decl.fields:
        if f.name in columns:
            arrays.append(_convert(columns[f.name], f, label))
        else:
            arrays.append(pa.nulls(raw.num_rows, arrow_type(f)))
    return pa.Table.from_arrays(arrays, schema=arrow_schema(decl)), notes


def _all_strings(data: bytes) -> dict[str, pa.DataType]:
    header = data.split(b"\n", 1)[0].decode("utf-8-sig").strip().strip("\r")
    names = next(iter(csv_rows(header)))
    return {n: pa.string() for n in names}


def csv_rows(text: str) -> Iterator[list[str]]:
    import csv as pycsv

    yield from pycsv.reader(io.StringIO(text))


def _convert(values: pa.Array, field: CdmField, label: str) -> pa.Array:
    """Type one column; an empty text is NULL (the OMOP CSV convention)."""
    text = pc.utf8_trim_whitespace(values)
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
    kind = field.kind
    if kind == "string":
        return text
    if kind == "integer":
        return _to_int(text, field, label)
    if kind == "float":
        return _cast_or_fail(text, pa.float64(), field, label, "a number")
    formats = _DATE_FORMATS + _DATETIME_FORMATS if kind == "date" else _DATETIME_FORMATS
    return _to_time(text, field, label, formats)


def _to_int(text: pa.Array, field: CdmField, label: str) -> pa.Array:
    try:
        return pc.cast(text, pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    # Exports from R and pandas write integers as "4180628.0".
    as_float = _cast_or_fail(text, pa.float64(), field, label, "a whole number")
    whole = pc.equal(as_float, pc.floor(as_float))
    if not pc.all(pc.fill_null(whole, True)).as_py():
        _fail(text, pc.invert(pc.fill_null(whole, True)), field, label, "a whole number")
    return pc.cast(as_float, pa.int64())


def _cast_or_fail(
    text: pa.Array, dtype: pa.DataType, field: CdmField, label: str, what: str
) -> pa.Array:
    try:
        return pc.cast(text, dtype)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        ok = [v is None or _parses(v, dtype) for v in text.to_pylist()]
        _fail(text, pa.array([not o for o in ok]), field, label, what)
        raise AssertionError("unreachable") from None


def _parses(value: str, dtype: pa.DataType) -> bool:
    try:
        pc.cast(pa.array([value]), dtype)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    return True


def _to_time(text: pa.Array, field: CdmField, label: str, formats: tuple[str, ...]) -> pa.Array:
    unit = pa.timestamp("us")
    result = pa.nulls(len(text), unit)
    todo = pc.is_valid(text)
    for fmt in formats:
        if not pc.any(todo).as_py():
            break
        parsed = pc.strptime(text, format=fmt, unit="us", error_is_null=True)
        take = pc.and_(todo, pc.is_valid(parsed))
        result = pc.if_else(take, parsed, result)
        todo = pc.and_(todo, pc.invert(take))
    if pc.any(todo).as_py():
        _fail(text, todo, field, label, "a date" if field.kind == "date" else "a date-time")
    return pc.cast(result, pa.date32()) if field.kind == "date" else result


def _fail(text: pa.Array, bad: pa.Array, field: CdmField, label: str, what: str) -> None:
    index = pc.index(bad, True).as_py()
    value = text[index].as_py()
    raise DataError(
        f"{label}: row {index + 2}, column {field.name}: {value!r} is not {what}",
        hint="fix the file or leave the value empty",
    )
