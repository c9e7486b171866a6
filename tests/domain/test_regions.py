"""The region configuration in the domain: comuni to districts, reporting units."""

from __future__ import annotations

from collections import Counter

import pytest

from bmb.domain.errors import ConfigError
from bmb.domain.regions import available_regions, load_region


def test_liguria_maps_every_comune_to_districts_whose_shares_sum_to_one() -> None:
    region = load_region("liguria")
    assert len(region.comuni) == 234
    codes = {d.code for d in region.districts}
    for c in region.comuni:
        assert c.districts, c.name
        assert {d for d, _ in c.districts} <= codes
        assert sum(s for _, s in c.districts) == pytest.approx(1.0)
        assert c.istat[:3] == c.province
    assert sum(c.population for c in region.comuni) == pytest.approx(region.population, rel=0.01)


def test_split_comune_makes_one_reporting_unit_of_its_districts() -> None:
    region = load_region("liguria")
    units = region.reporting_units()
    genova = next(c for c in region.comuni if c.name == "Genova")
    unit = units[genova.istat]
    assert unit.districts == ("008", "009", "010", "011", "012", "013")
    assert unit.code == "008-013"
    assert unit.asl == "103"
    arenzano = next(c for c in region.comuni if c.name == "Arenzano")
    assert units[arenzano.istat] is unit
    rapallo = next(c for c in region.comuni if c.name == "Rapallo")
    assert units[rapallo.istat].code == "014"
    assert len({u.code for u in units.values()}) == 14
    # ASL4 Chiavarese lists its comuni one by one: 4 + 19 + 4.
    assert Counter(u.asl for u in units.values())["104"] == 27


def test_domain_region_agrees_with_the_synthetic_regions_comune_cells() -> None:
    """The synthetic region and the analytics must place residents identically."""
    from bmb.synth.region import load_region as synth_region

    cells = synth_region("liguria").cells
    synth = {}
    for istat, dist in zip(cells.istat.tolist(), cells.district.tolist(), strict=True):
        synth.setdefault(istat, set()).add(dist)
    ours = {c.istat: {d for d, _ in c.districts} for c in load_region("liguria").comuni}
    assert ours == synth


def test_unknown_region_names_the_choices() -> None:
    assert "liguria" in available_regions()
    with pytest.raises(ConfigError, match="liguria"):
        load_region("atlantis")
