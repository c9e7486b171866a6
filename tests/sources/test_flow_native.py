"""The compiled cutter gives, record for record, what the reference Python path gives.

The reference: lines split by Arrow (``split_lines``), fields cut with Arrow kernels
(``cut_fixed``), every check run in SQL (``parse_sql``). The compiled path: one C pass
(``native.read_fixed``) and SQL checks on the records it marks suspect. Random records
mix good values with every kind of fault (wrong codes and dates, letters in numbers,
truncated and long lines, accents, Latin-1 bytes, control characters, CRLF), so a
record the C code wrongly clears, or cuts differently, makes the two disagree.
"""

from __future__ import annotations

import datetime as dt
import string

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bmb.domain.flows import LAYOUTS
from bmb.domain.flows.layout import Field, FieldType, Framing, Layout
from bmb.sources.flows import native
from bmb.sources.flows.cut import cut_fixed
from bmb.sources.flows.lines import split_lines
from bmb.sources.flows.parse import parse_sql
from tests.sources.flow_records import GOOD_D2, fixed_record

FIXED = sorted(name for name, layout in LAYOUTS.items() if layout.framing is Framing.FIXED)
TODAY = dt.date.today()


def test_the_compiled_cutter_is_built() -> None:
    # make builds it at install (hatch_build.py); without it ingestion is twice as slow
    assert native.available(), f"{native.LIBRARY} missing: reinstall with a C compiler"


def _plain(table: pa.Table) -> list[dict[str, object]]:
    """Rows as Python values; dates as text (DuckDB can type year 0, Python cannot)."""
    table = table.sort_by("line_number")
    for i, f in enumerate(table.schema):
        if pa.types.is_date(f.type):
            table = table.set_column(i, f.name, table.column(i).cast(pa.string()))
    return table.to_pylist()


def _reference(layout: Layout, data: bytes) -> tuple[list[dict[str, object]], object]:
    lines = split_lines(data)
    con = duckdb.connect()
    con.register("_stage", cut_fixed(layout, lines.table))
    rows = con.sql(parse_sql(layout, "_stage", precut=True)).to_arrow_table()
    return _plain(rows), lines.bad_encoding


def _compiled(
    layout: Layout, data: bytes, threads: int | None = None
) -> tuple[list[dict[str, object]], object]:
    records = native.read_fixed(data, layout, threads=threads)
    con = duckdb.connect()
    con.register("_stage", records.table)
    sql = parse_sql(
        layout, "_stage", precut=True, prechecked=True, pretyped=native.typed_fields(layout)
    )
    rows = con.sql(sql).to_arrow_table()
    return _plain(rows), records.bad_encoding


def _good(f: Field) -> st.SearchStrategy[str]:
    """Values that pass the field's checks."""
    if f.type is FieldType.CODE and f.codes:
        return st.sampled_from(sorted(f.codes))
    if f.type is FieldType.INT:
        return st.integers(0, 10**f.length - 1).map(lambda v: str(v).zfill(f.length))
    if f.type is FieldType.DECIMAL:
        return st.integers(0, 10 ** min(f.length, 15) - 1).map(lambda v: str(v).zfill(f.length))
    if f.type is FieldType.DATE:
        days = (TODAY - dt.date(1900, 1, 1)).days
        return st.integers(0, days).map(
            lambda d: (dt.date(1900, 1, 1) + dt.timedelta(days=d)).strftime(f.fmt)
        )
    if f.type is FieldType.TIME:
        return st.times().map(lambda t: t.strftime(f.fmt))
    return st.text(string.ascii_uppercase + string.digits, min_size=1, max_size=f.length)


def _near_misses(f: Field) -> list[str]:
    """Values at the edge of the field's checks, on either side."""
    out = ["", " 1 ", "\t7", "7\t", "-", "-0", "-12", "1,5", "1.", ".5", "1e3", "0" * 19]
    out += ["A", "00", "0", "9" * f.length, " " * f.length]
    if f.type is FieldType.DATE:
        edges = [dt.date(1879, 12, 31), dt.date(1880, 1, 1), dt.date(2024, 2, 29)]
        edges += [TODAY + dt.timedelta(days=d) for d in range(362, 369)]
        out += [d.strftime(f.fmt) for d in edges]
        out += ["31022024", "20240231", "20230229", "00002024", "20240001", "2024-01-01"]
        out += ["29022023", "01132024", "20241301", "1202401", " 2024010", "2024010 "]
    if f.type is FieldType.TIME:
        out += ["2460", "2400", "2359", "0000", "9999", "12:3", "1230", "12:30", "123", "1 30"]
    if f.type is FieldType.CODE and f.codes:
        code = sorted(f.codes)[0]
        out += [code + "X", code[:-1], code.lower(), " " + code, code + " "]
    return out


def _any(f: Field) -> st.SearchStrategy[str]:
    """Near misses and noise of the field's type, and blanks."""
    odd: list[st.SearchStrategy[str]] = [
        st.text(string.ascii_letters + string.digits + " -.,:", max_size=f.length),
        st.sampled_from(_near_misses(f)),
    ]
    if f.type is FieldType.DECIMAL:
        odd.append(st.from_regex(r"-?[0-9]{1,4}[.,][0-9]{1,3}", fullmatch=True))
        odd.append(st.integers(-(10**6), 10**7).map(str))
    if f.type is FieldType.DATE:
        odd.append(st.dates(dt.date(1870, 1, 1), TODAY).map(lambda d: d.strftime("%Y-%m-%d")))
    return st.one_of(*odd)


def _record(layout: Layout) -> st.SearchStrategy[str]:
    """A good record with none, one or two fields replaced by near misses or noise."""

    def build(values: list[str]) -> str:
        return "".join(v.rjust(f.length)[: f.length] for f, v in zip(layout, values, strict=True))

    n = len(layout.fields)
    good = st.tuples(*(_good(f) for f in layout.fields)).map(list)
    changes = st.lists(st.integers(0, n - 1), max_size=2, unique=True)

    def replace(base: list[str], at: list[int]) -> st.SearchStrategy[str]:
        if not at:
            return st.just(build(base))
        return st.tuples(*(_any(layout.fields[i]) for i in at)).map(
            lambda vs: build([dict(zip(at, vs, strict=True)).get(i, v) for i, v in enumerate(base)])
        )

    return st.tuples(good, changes).flatmap(lambda p: replace(*p))


def _mutate(record: str) -> st.SearchStrategy[bytes]:
    raw = record.encode()
    cut = st.integers(0, len(raw))
    return st.one_of(
        st.just(raw),
        st.just(raw),
        st.just(raw),
        cut.map(lambda i: raw[:i]),
        st.just(raw + b"EXTRA"),
        st.just(raw + b"   "),
        st.just(raw + b"\r"),
        st.just(b""),
        cut.map(lambda i: raw[:i] + "è".encode() + raw[i + 2 :]),
        cut.map(lambda i: raw[:i] + b"\xe8" + raw[i + 1 :]),
        cut.map(lambda i: raw[:i] + b"\x0b" + raw[i + 1 :]),
        cut.map(lambda i: raw[:i] + b"\x1c" + raw[i + 1 :]),
    )


def _file(layout: Layout) -> st.SearchStrategy[bytes]:
    line = _record(layout).flatmap(_mutate)
    return st.tuples(st.lists(line, max_size=25), st.booleans()).map(
        lambda p: b"\n".join(p[0]) + (b"\n" if p[1] and p[0] else b"")
    )


@pytest.mark.parametrize("name", FIXED)
def test_every_near_miss_of_every_field_is_checked_as_the_reference_checks_it(name: str) -> None:
    layout = LAYOUTS[name]
    base = ["1".rjust(f.length, "0") for f in layout.fields]
    for i, f in enumerate(layout.fields):  # a good record first
        if f.type is FieldType.CODE and f.codes:
            base[i] = sorted(f.codes)[0]
        elif f.type in (FieldType.DATE, FieldType.TIME):
            base[i] = dt.datetime(2020, 5, 17, 8, 30).strftime(f.fmt)
    lines = ["".join(v.rjust(f.length)[: f.length] for f, v in zip(layout, base, strict=True))]
    for i, f in enumerate(layout.fields):
        for value in _near_misses(f):
            values = [*base[:i], value, *base[i + 1 :]]
            lines.append(
                "".join(v.rjust(g.length)[: g.length] for g, v in zip(layout, values, strict=True))
            )
            lines.append(
                "".join(v.ljust(g.length)[: g.length] for g, v in zip(layout, values, strict=True))
            )
    good, last = lines[0], layout.fields[-1].start
    lines += [good[:k] for k in (0, 1, last - 2, last - 1, last, layout.width - 1)]
    lines += [good + "X", good + "   ", good[: last - 1] + " " * (layout.width - last + 1)]
    data = "\n".join(lines).encode()
    ref_rows, _ = _reference(layout, data)
    rows, _ = _compiled(layout, data)
    assert ref_rows[0]["_errors"] == []
    assert sum(1 for r in ref_rows if r["_errors"]) > len(layout.fields)  # the misses bite
    assert rows == ref_rows


@pytest.mark.parametrize("name", FIXED)
def test_the_compiled_cutter_agrees_with_the_reference_on_random_records(name: str) -> None:
    layout = LAYOUTS[name]

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(data=_file(layout))
    def check(data: bytes) -> None:
        ref_rows, ref_bad = _reference(layout, data)
        rows, bad = _compiled(layout, data)
        assert bad == ref_bad
        assert rows == ref_rows

    check()


def test_the_compiled_cutter_marks_only_records_that_may_fail() -> None:
    d2 = LAYOUTS["pharmacy_d2"]
    rec = fixed_record(d2, GOOD_D2)
    bad_date = rec.replace("05032024", "31022024")
    table = native.read_fixed(f"{rec}\n{bad_date}\n{rec[:50]}\n".encode(), d2).table
    assert table.column("_suspect").to_pylist() == [False, True, True]
    assert table.column("_v_codice_prodotto").to_pylist()[0] == "012345678"


def test_a_file_cut_in_pieces_on_threads_gives_the_same_records(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    layout = LAYOUTS["outpatient_c2"]
    line = "".join("7".rjust(f.length) for f in layout.fields)
    lines = [line, "", line[:20], "bad \xe8 accent", line + "X"] * 40
    data = "\n".join(lines).encode() + b"\n" + b"latin \xe8 tail"
    whole, whole_bad = _compiled(layout, data, threads=1)
    monkeypatch.setattr(native, "CHUNK_BYTES", 700)
    pieces, pieces_bad = _compiled(layout, data, threads=3)
    assert pieces == whole
    assert pieces_bad == whole_bad
    assert [r["line_number"] for r in whole] == [
        i + 1 for i in range(len(lines) + 1) if i + 1 not in dict(whole_bad)
    ]


def test_empty_input_gives_an_empty_table_with_every_column() -> None:
    layout = LAYOUTS["pharmacy_d1"]
    records = native.read_fixed(b"", layout)
    assert records.count == 0
    assert "_suspect" in records.table.column_names
    typed = native.typed_fields(layout)
    assert typed
    assert len(records.table.column_names) == len(layout.fields) + 3 + len(typed)
