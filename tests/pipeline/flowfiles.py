"""Write flow records from dicts, by layout: small hand-made files for pipeline tests.

Independent of the synthetic region on purpose: these tests pin the reader and the
mappings to the layouts, whatever the generator does.
"""

from __future__ import annotations

from pathlib import Path

from codicefiscale import codicefiscale

from bmb.domain.flows import LAYOUTS, file_name
from bmb.domain.flows.layout import FieldType, Framing


def render(layout_name: str, values: dict[str, str]) -> str:
    layout = LAYOUTS[layout_name]
    unknown = set(values) - set(layout.names)
    assert not unknown, f"{layout_name} has no field(s) {unknown}"
    if layout.framing is Framing.DELIMITED:
        return layout.separator.join(values.get(f.name, "") for f in layout.fields)
    out = []
    for f in layout.fields:
        v = values.get(f.name, "")
        if f.type in (FieldType.INT, FieldType.DECIMAL) and v:
            out.append(v.rjust(f.length, "0")[: f.length])
        else:
            out.append(v.ljust(f.length)[: f.length])
    return "".join(out)


def write(directory: Path, layout_name: str, period: str, records: list[dict[str, str]]) -> Path:
    path = directory / file_name(layout_name, "070", int(period[:4]), int(period[4:]))
    path.write_text("".join(render(layout_name, r) + "\n" for r in records), encoding="utf-8")
    return path


def fiscal_code(last: str, first: str, sex: str, birth: str, place: str = "D969") -> str:
    """A valid fiscal code; ``birth`` as YYYY-MM-DD."""
    y, m, d = birth.split("-")
    code: str = codicefiscale.encode(
        lastname=last, firstname=first, gender=sex, birthdate=f"{d}/{m}/{y}", birthplace=place
    )
    return code
