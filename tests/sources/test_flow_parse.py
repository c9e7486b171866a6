"""Flow records are cut, typed and validated from their layouts, nothing dropped."""

from __future__ import annotations

import duckdb
import pytest

from bmb.domain.flows import LAYOUTS
from bmb.domain.flows.layout import Layout
from bmb.sources.flows.lines import split_lines
from bmb.sources.flows.parse import REASONS, parse_sql
from tests.sources.flow_records import GOOD_D2, fixed_record


def _parse(layout: Layout, data: bytes) -> list[dict[str, object]]:
    lines = split_lines(data)
    con = duckdb.connect()
    con.register("lines", lines.table)
    rows: list[dict[str, object]] = con.sql(parse_sql(layout)).to_arrow_table().to_pylist()
    return rows


def test_split_lines_keeps_undecodable_lines_aside_with_their_numbers() -> None:
    data = b"first\r\nsecond \xe8 latin-1\nthird\n"
    lines = split_lines(data)
    assert lines.table.column("line_number").to_pylist() == [1, 3]
    assert lines.table.column("text").to_pylist() == ["first", "third"]
    assert lines.bad_encoding[0][0] == 2
    assert "\\xe8" in lines.bad_encoding[0][1]
    assert lines.count == 3


def test_fixed_width_fields_are_typed_by_position() -> None:
    d2 = LAYOUTS["pharmacy_d2"]
    rec = fixed_record(d2, GOOD_D2)
    (row,) = _parse(d2, rec.encode() + b"\n")
    assert row["_errors"] == []
    assert str(row["data_spedizione"]) == "2024-03-07"
    assert row["quantita"] == 2
    assert row["prezzo_unitario"] == pytest.approx(12.50)
    assert row["codice_prodotto"] == "012345678"


def test_bad_fields_are_reported_with_field_and_reason_not_dropped() -> None:
    d2 = LAYOUTS["pharmacy_d2"]
    bad = {**GOOD_D2, "data_spedizione": "30022024", "quantita": "0X2", "tipo_trasmissione": "7"}
    rec = fixed_record(d2, bad)
    rows = _parse(d2, (rec + "\n" + rec[:40] + "\n").encode())
    assert len(rows) == 2
    reasons = {(e["field"], e["reason"]) for e in rows[0]["_errors"]}  # type: ignore[attr-defined]
    assert ("data_spedizione", "invalid_date") in reasons
    assert ("quantita", "not_a_number") in reasons
    assert ("tipo_trasmissione", "unknown_code") in reasons
    first = rows[1]["_errors"][0]  # type: ignore[index]
    assert first["reason"] == "truncated"
    assert all(e["reason"] in REASONS for r in rows for e in r["_errors"])  # type: ignore[attr-defined]


def test_delimited_records_with_wrong_field_counts_are_flagged() -> None:
    deaths = LAYOUTS["deaths"]
    n = len(deaths.fields)
    good = ["X1", "RSSMRA50D03A388P", "0", "20240105", "", "010025", "1", "", "I21.9"]
    good += [""] * (n - len(good))
    rows = _parse(
        deaths,
        (
            ";".join(good) + "\n" + ";".join(good[:5]) + "\n" + ";".join([*good, "x"]) + "\n"
        ).encode(),
    )
    assert rows[0]["_errors"] == []
    assert rows[1]["_errors"][0]["reason"] == "truncated"  # type: ignore[index]
    assert rows[2]["_errors"][0]["reason"] == "too_long"  # type: ignore[index]


def test_future_dates_are_impossible() -> None:
    deaths = LAYOUTS["deaths"]
    n = len(deaths.fields)
    rec = ["X1", "RSSMRA50D03A388P", "0", "21240105", "", "", "", "", "I21.9"] + [""] * (n - 9)
    (row,) = _parse(deaths, (";".join(rec) + "\n").encode())
    assert {"field": "data_decesso", "reason": "impossible_date", "detail": "21240105"} in row[
        "_errors"
    ]  # type: ignore[operator]


def test_cutting_in_slices_on_threads_gives_the_same_fields_as_one_pass(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bmb.sources.flows import cut

    d2 = LAYOUTS["pharmacy_d2"]
    good = fixed_record(d2, {"regione": "070", "asl": "103", "codice_prodotto": " 01234 "})
    lines = [good, "", good[:30], good + "XYZ", "   ", good.replace("070", "7 0")] * 5
    table = split_lines("\n".join(lines).encode() + b"\n").table
    whole = cut.cut_fixed(d2, table)
    monkeypatch.setattr(cut, "SLICE_ROWS", 4)
    sliced = cut.cut_fixed(d2, table)
    assert sliced.num_rows == whole.num_rows == len(lines)
    for name in whole.column_names:
        assert sliced.column(name).to_pylist() == whole.column(name).to_pylist(), name
    assert whole.column("_v_codice_prodotto").to_pylist()[0] == "01234"
    assert whole.column("_v_regione").to_pylist()[1] is None


def test_records_without_errors_get_an_empty_typed_list_and_bad_ones_every_error() -> None:
    d2 = LAYOUTS["pharmacy_d2"]
    rec = fixed_record(d2, {"regione": "070", "data_prescrizione": "31022024", "quantita": "1X"})
    rows = _parse(d2, (rec + "\n").encode())
    reasons = sorted((e["field"], e["reason"]) for e in rows[0]["_errors"])  # type: ignore[union-attr]
    assert ("data_prescrizione", "invalid_date") in reasons
    assert ("quantita", "not_a_number") in reasons
