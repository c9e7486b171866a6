"""Record layouts of every flow BMB reads, and how their files are named.

A flow's files are named ``<LAYOUT>_<REGION>_<YYYYMM>.txt`` (e.g.
``SDO_A_070_202401.txt``): one file per layout per month, as the regional
transmission calendar sends them.
"""

from __future__ import annotations

import re
from types import MappingProxyType

from bmb.domain.flows import deaths, emur, exemptions, labs, outpatient, pharmacy, registry, sdo
from bmb.domain.flows.layout import Field, FieldType, Framing, Identifier, Layout

LAYOUTS: MappingProxyType[str, Layout] = MappingProxyType(
    {
        lay.name: lay
        for mod in (sdo, emur, pharmacy, outpatient, exemptions, registry, deaths, labs)
        for lay in mod.LAYOUTS
    }
)

#: Flows and the layouts (file kinds) each one sends.
FLOWS: MappingProxyType[str, tuple[str, ...]] = MappingProxyType(
    {
        flow: tuple(name for name, lay in LAYOUTS.items() if lay.flow == flow)
        for flow in dict.fromkeys(lay.flow for lay in LAYOUTS.values())
    }
)

_FILE_RE = re.compile(r"^(?P<layout>[A-Z0-9_]+?)_(?P<region>\d{3})_(?P<period>\d{6})\.txt(\.gz)?$")


def file_name(layout: str, region: str, year: int, month: int) -> str:
    """The file name of one layout's records for one month."""
    return f"{layout.upper()}_{region}_{year:04d}{month:02d}.txt"


def parse_file_name(name: str) -> tuple[Layout, str, str] | None:
    """(layout, region, YYYYMM) for a flow file name, or None if it is not one."""
    m = _FILE_RE.match(name)
    if m is None:
        return None
    lay = LAYOUTS.get(m["layout"].lower())
    if lay is None:
        return None
    return lay, m["region"], m["period"]


__all__ = [
    "FLOWS",
    "LAYOUTS",
    "Field",
    "FieldType",
    "Framing",
    "Identifier",
    "Layout",
    "file_name",
    "parse_file_name",
]
