"""Readable, self-contained HTML pages (no scripts, no CDN: users may be offline).

Each result has one page: a header with what was computed and its provenance, then
plain tables. The CSV/Parquet outputs hold every number; the page is for reading.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from bmb.domain.provenance import Provenance

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;
max-width:72rem;color:#1b1f24;padding:0 1rem}
h1{font-size:1.5rem;margin:0 0 .25rem}h2{font-size:1.15rem;margin:1.75rem 0 .5rem}
.prov{color:#57606a;font-size:.85rem;margin-bottom:1rem}
table{border-collapse:collapse;margin:.5rem 0 1rem;width:auto}
th,td{padding:.25rem .6rem;border-bottom:1px solid #d0d7de;text-align:left;vertical-align:top}
th{background:#f6f8fa;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}
.warn{color:#9a6700}.muted{color:#57606a}dl{display:grid;grid-template-columns:max-content auto;
gap:.15rem 1rem}dt{font-weight:600}
"""


def fmt(value: object, digits: int = 2) -> str:
    """A cell: thousands separators for counts, fixed decimals for measures."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        if math.isinf(value):
            return "∞" if value > 0 else "-∞"
        return f"{value:,.{digits}f}"
    return escape(str(value))


def table(columns: Sequence[str], rows: Sequence[Sequence[object]], *, digits: int = 2) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = []
    for row in rows:
        cells = []
        for v in row:
            numeric = isinstance(v, int | float) and not isinstance(v, bool)
            cells.append(
                f'<td class="n">{fmt(v, digits)}</td>' if numeric else f"<td>{fmt(v)}</td>"
            )
        body.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def facts(items: Sequence[tuple[str, object]]) -> str:
    inner = "".join(f"<dt>{escape(k)}</dt><dd>{fmt(v)}</dd>" for k, v in items)
    return f"<dl>{inner}</dl>"


def page(title: str, provenance: Provenance, sections: Sequence[tuple[str, str]]) -> str:
    """A whole page; ``sections`` are (heading, HTML) pairs."""
    body = "".join(f"<h2>{escape(h)}</h2>{html}" if h else html for h, html in sections)
    prov = escape(provenance.describe())
    meta = "".join(
        f'<meta name="{escape(k)}" content="{escape(v)}">' for k, v in provenance.as_dict().items()
    )
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">{meta}'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        f'<h1>{escape(title)}</h1><div class="prov">{prov}</div>{body}</body></html>\n'
    )
