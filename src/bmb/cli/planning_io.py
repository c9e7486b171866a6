"""What the planning commands share: options, opening the lake, saving derived tables.

The planning commands (registry, comorbidity, stratify, risk, network, indicators,
report) all work on the lake's current snapshot, write their person-level and summary
tables to the lake's derived zone (one lake snapshot per table, recorded in the
ledger), and write files where ``--out``/``--plot`` say. Derived tables carry their
provenance in the Parquet schema metadata, like every other BMB output.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from bmb.cli.options import lake_dir
from bmb.domain.errors import UsageError

if TYPE_CHECKING:
    import pyarrow as pa

    from bmb.domain.chronic import RuleSet
    from bmb.domain.provenance import Provenance
    from bmb.engines.lake import LakeEngine

YearsOption = typer.Option(
    None,
    "--years",
    help="Reference years (31 December of each): 2024, 2023-2025 or 2023,2025. "
    "Default: the last year the lake covers to 31 December.",
    show_default=False,
)
RegionOption = typer.Option("liguria", "--region", help="Region configuration (districts).")
PlotOption = typer.Option(
    None, "--plot", help="Write a chart: .svg, .png or .pdf.", show_default=False
)
RulesOption = typer.Option(
    None,
    "--rules",
    help="Registry rules YAML (default: BMB's, see 'bmb registry rules').",
    show_default=False,
)
SaveOption = typer.Option(
    True, "--save/--no-save", help="Write the tables to the lake's derived zone."
)


@contextmanager
def open_planning_lake(lake: Path | None, command: str) -> Iterator[LakeEngine]:
    """The lake's current snapshot in DuckDB, closed on exit; gated and audited
    (:func:`bmb.cli.cdm_source.open_governed_lake`)."""
    root = lake_dir(lake)
    if not root.exists():
        raise UsageError(f"no lake at {root}", hint="give --lake DIR or set BMB_LAKE")
    from bmb.cli.cdm_source import open_governed_lake

    with open_governed_lake(root, command) as engine:
        yield engine


def read_rules(path: Path | None) -> RuleSet:
    """The registry rules in ``path``, or BMB's when none is given."""
    from bmb.domain.chronic import default_rules, parse_rules_text

    if path is None:
        return default_rules()
    if not path.is_file():
        raise UsageError(f"{path}: no such rules file")
    return parse_rules_text(path.read_text(encoding="utf-8"), str(path))


def years_of(engine: LakeEngine, text: str | None) -> list[int]:
    """The years asked for, or the last year whose 31 December the lake covers."""
    from bmb.analytics.population import parse_years

    if text:
        return parse_years(text)
    row = engine.query(
        "SELECT max(observation_period_end_date) AS d FROM observation_period"
    ).to_pylist()[0]
    last = row["d"]
    if last is None:
        raise UsageError("the lake has no observation periods", hint="ingest the registry first")
    year = last.year if (last.month, last.day) == (12, 31) else last.year - 1
    return [year]


def save_derived(
    engine: LakeEngine, name: str, table: pa.Table, provenance: Provenance, note: str
) -> str:
    """Write ``derived.<name>`` with the provenance in its schema metadata; the snapshot."""
    meta = {**(table.schema.metadata or {}), **provenance.as_dict()}
    snap = engine.lake.write_derived(name, table.replace_schema_metadata(meta), note=note)
    return str(snap.lake_snapshot_id)


def write_plot(fig: object, path: Path) -> Path:
    from bmb.analytics.plots import save

    return save(fig, path)  # type: ignore[arg-type]
