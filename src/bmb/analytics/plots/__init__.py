"""Charts of the planning analytics, drawn with matplotlib, embedded as SVG.

Every chart is a function returning a matplotlib ``Figure`` from an Arrow table the
analytics produced, so the same chart appears in a command's ``--plot`` file and in
the planning report. SVG keeps charts sharp, searchable and self-contained in an HTML
page: no JavaScript, no CDN, nothing fetched (users may be offline).
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: The palette (colour-blind safe, Okabe-Ito) every chart shares.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
#: Pyramid levels 1 (top) to 4: from alarm to calm.
LEVEL_COLOURS = ("#B2182B", "#EF8A62", "#67A9CF", "#2166AC")


def new_figure(width: float = 8.0, height: float = 4.5) -> Figure:
    """A figure on the non-interactive backend (no display needed, thread-safe)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    return fig


def to_svg(fig: Figure) -> str:
    """The figure as an inline ``<svg>`` element (no XML prolog, no fixed ids clash)."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    # Drop the metadata block (creator URL, licence namespaces): nothing to fetch, less to read.
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.DOTALL)
    # Each chart's ids must stay unique when several charts share one page.
    token = f"f{id(fig):x}"
    text = re.sub(r'id="([^"]+)"', rf'id="{token}-\1"', text)
    return re.sub(r"#([A-Za-z_][\w.-]*)\)", rf"#{token}-\1)", text).replace(
        'xlink:href="#', f'xlink:href="#{token}-'
    )


def save(fig: Figure, path: str | Path) -> Path:
    """Write the figure; the format follows the extension (.svg, .png, .pdf)."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in (".svg", ".png", ".pdf"):
        from bmb.domain.errors import UsageError

        raise UsageError(f"{p}: plots are written as .svg, .png or .pdf")
    p.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(p, dpi=150, metadata={"Date": None} if suffix == ".svg" else None)
    return p


__all__ = ["LEVEL_COLOURS", "PALETTE", "new_figure", "save", "to_svg"]
