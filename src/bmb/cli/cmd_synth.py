"""``bmb synth``: generate a synthetic region in the real source formats."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add the ``synth`` command to the ``bmb`` app."""

    @app.command(
        "synth",
        help=(
            "Generate a synthetic region: residents, their conditions and care, written as "
            "the Italian flows (SDO, EMUR-PS, Flusso C/D, exemptions, registry, deaths, labs) "
            "and as FHIR R4 Bulk Data NDJSON, with a ground truth and a fault manifest.\n\n"
            "Example: bmb synth --persons 20000 --years 2024-2025 --seed 7 --out region/"
        ),
    )
    def synth(
        out: Path = typer.Option(..., "--out", help="Output directory (new or empty)."),
        persons: int = typer.Option(20_000, "--persons", help="Residents at the start."),
        years: str = typer.Option("2024-2025", "--years", help="First-last year, e.g. 2023-2025."),
        seed: int = typer.Option(7, "--seed", help="Random seed: same seed, same bytes."),
        formats: str = typer.Option("flows,fhir", "--formats", help="flows, fhir or both."),
        error_rate: float = typer.Option(
            0.0, "--error-rate", help="Share of flow records corrupted on purpose (faults.json)."
        ),
        region: str = typer.Option("liguria", "--region", help="Region configuration name."),
        workers: int = typer.Option(1, "--workers", help="Processes generating chunks."),
    ) -> None:
        from bmb.cli.console import print_table, progress_bar
        from bmb.domain.errors import UsageError
        from bmb.synth.generator import SynthOptions, generate
        from bmb.synth.memory import tune_allocators

        try:
            first, _, last = years.partition("-")
            y0, y1 = int(first), int(last or first)
        except ValueError as exc:
            raise UsageError(f"--years {years!r}: expected FIRST-LAST, e.g. 2023-2025") from exc
        opts = SynthOptions(
            persons=persons,
            first_year=y0,
            last_year=y1,
            seed=seed,
            out=out,
            formats=tuple(f.strip() for f in formats.split(",") if f.strip()),
            error_rate=error_rate,
            region=region,
            workers=workers,
        )
        tune_allocators()  # this process exists to generate (see bmb.synth.memory)
        with progress_bar() as bar:
            s = generate(opts, bar)
        rows = [
            (kind, s.records[kind], s.bytes[kind], s.records[kind] / max(s.seconds, 1e-9))
            for kind in sorted(s.records)
        ]
        rows.append(("persons (incl. births, arrivals)", s.persons, 0, 0.0))
        rows.append(("faults injected", s.faults, 0, 0.0))
        print_table(
            f"bmb synth: {s.out} in {s.seconds:.1f} s",
            ["file kind", "n records", "n bytes", "records/s"],
            rows,
        )
