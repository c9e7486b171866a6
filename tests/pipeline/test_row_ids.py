"""Row ids: ``hash_63`` is a fixed function of the natural key, whatever DuckDB computes it with."""

from __future__ import annotations

import hashlib

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from bmb.pipeline.maps.common import HASH_63_MACRO


def expected(key: str) -> int:
    """The documented definition: last 8 bytes of MD5, little-endian, top bit cleared."""
    digest = hashlib.md5(key.encode()).digest()
    return int.from_bytes(digest[8:], "little") & (2**63 - 1)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(min_size=0, max_size=40), min_size=1, max_size=20))
def test_hash_63_is_the_documented_cut_of_md5(keys: list[str]) -> None:
    con = duckdb.connect()
    con.execute(HASH_63_MACRO)
    rows = con.execute(
        "SELECT k, hash_63(k) FROM (SELECT unnest($1::VARCHAR[]) AS k)", [keys]
    ).fetchall()
    for key, value in rows:
        assert value == expected(key), key
        assert 0 <= value < 2**63


def test_hash_63_matches_duckdb_md5_number_lower() -> None:
    """Ids minted before the faster form stay the same."""
    con = duckdb.connect()
    con.execute(HASH_63_MACRO)
    got = con.execute(
        "SELECT count(*) FILTER (hash_63(s) <> CAST(md5_number_lower(s) "
        "& 9223372036854775807::UBIGINT AS BIGINT)) FROM "
        "(SELECT 'FD|070|' || range::VARCHAR AS s FROM range(100000))"
    ).fetchone()
    assert got == (0,)
