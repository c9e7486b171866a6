"""Registry and exemptions: one snapshot file per calendar year, each record key once.

Regression: years were stepped by 365.25 days, so in 2024-2025 (2024 is a leap year) the
second year began on 31 December 2024 and both snapshots went to the 202401 file, every
record key twice: the lake quarantines the second copy as a duplicate.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from bmb.domain.flows import LAYOUTS
from bmb.synth.generator import SynthOptions, generate
from tests.synth.conftest import FIRST_YEAR, LAST_YEAR, Region
from tests.synth.flowparse import read_table

KEYS = {
    "registry": ("codice_fiscale", "data_inizio_assistenza"),
    "exemptions": ("id_esenzione",),
}


@pytest.mark.parametrize("layout", sorted(KEYS))
def test_one_snapshot_file_per_year_in_january(region: Region, layout: str) -> None:
    names = [p.name for p in region.files(layout)]
    prefix = layout.upper()
    assert names == [f"{prefix}_070_{y}01.txt" for y in range(FIRST_YEAR, LAST_YEAR + 1)]


@pytest.mark.parametrize("layout", sorted(KEYS))
def test_a_record_key_appears_once_per_file(region: Region, layout: str) -> None:
    for path in region.files(layout):
        t = read_table([path], LAYOUTS[layout])
        keys = Counter(zip(*(t[k].to_pylist() for k in KEYS[layout]), strict=True))
        assert keys.most_common(1)[0][1] == 1, path.name
        assert len(path.read_bytes().splitlines()) == len(set(path.read_bytes().splitlines()))


def test_snapshot_lists_who_was_covered_that_year(region: Region) -> None:
    y0, y1 = (read_table([p], LAYOUTS["registry"]) for p in region.files("registry"))
    ended_first = {
        cf
        for cf, end in zip(
            y0["codice_fiscale"].to_pylist(), y0["data_fine_assistenza"].to_pylist(), strict=True
        )
        if end
    }
    # Coverage ended in the first year: listed then, with its end date, never again.
    assert ended_first
    assert all(e.startswith(str(FIRST_YEAR)) for e in y0["data_fine_assistenza"].to_pylist() if e)
    assert ended_first.isdisjoint(y1["codice_fiscale"].to_pylist())
    # Born or arrived in the second year: only in the second snapshot.
    starts = y1["data_inizio_assistenza"].to_pylist()
    newcomers = {
        c
        for c, s in zip(y1["codice_fiscale"].to_pylist(), starts, strict=True)
        if s >= f"{LAST_YEAR}0101"
    }
    assert newcomers
    assert newcomers.isdisjoint(y0["codice_fiscale"].to_pylist())


def test_single_year_covers_the_last_day_of_a_leap_year(tmp_path: Path) -> None:
    # One year of 2024 used to end on 30 December (365 days from 1 January).
    out = tmp_path / "one"
    generate(SynthOptions(1_500, 2024, 2024, seed=5, out=out, formats=("flows",)))
    registry = [p.name for p in (out / "flows" / "registry").glob("*.txt")]
    assert registry == ["REGISTRY_070_202401.txt"]
    d2 = read_table(
        sorted((out / "flows" / "pharmacy").glob("PHARMACY_D2_*_202412.txt")),
        LAYOUTS["pharmacy_d2"],
    )
    days = set(d2["data_spedizione"].to_pylist())
    assert "31122024" in days
    assert max(days, key=lambda d: d[4:] + d[2:4] + d[:2]) == "31122024"
