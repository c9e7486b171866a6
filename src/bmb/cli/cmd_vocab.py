"""``bmb vocab``: the lake's vocabulary."""

from __future__ import annotations

from pathlib import Path

import typer

from bmb.cli.options import LakeOption, lake_dir

vocab_app = typer.Typer(
    help="The lake's vocabulary: load an OHDSI (Athena) download.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(vocab_app, name="vocab")


@vocab_app.command("load")
def load(
    directory: Path = typer.Argument(..., help="Folder of an unzipped Athena download."),
    lake: Path = LakeOption,
) -> None:
    """Load OHDSI vocabularies and re-map the lake's codes to standard concepts.

    Reads CONCEPT.csv, CONCEPT_RELATIONSHIP.csv, CONCEPT_ANCESTOR.csv and the other
    vocabulary tables (Athena's tab-separated files or comma CSV). Codes that OHDSI has
    (ICD-9-CM, ICD-10, LOINC, ATC, UCUM) move from BMB's local concepts to the OHDSI ones
    and every CDM row is re-mapped; the rest keep their local concepts.

    Example: bmb vocab load ~/athena/vocabulary_download_v5 --lake ./bmb-lake
    """
    from bmb.cli.console import console, print_table
    from bmb.domain.governance.roles import Action
    from bmb.pipeline.athena import load_vocabulary
    from bmb.service.governed import audited_lake_command

    root = lake_dir(lake)
    with audited_lake_command(root, Action.LAKE_INGEST, "bmb vocab load") as kept:
        report = load_vocabulary(root, directory)
        kept.update(source=str(directory), snapshot=report.snapshot.label())
    print_table("Loaded from the download", ["table", "# rows"], sorted(report.loaded.items()))
    print_table("CDM rows re-mapped", ["table", "# rows"], sorted(report.remapped.items()))
    console.print(
        f"{report.replaced_local:,} local concepts replaced by OHDSI concepts; "
        f"committed as {report.snapshot.label()}"
    )
    if report.missing_standard:
        console.print(
            "[yellow]Standard concepts BMB uses but the download lacks or names otherwise: "
            + ", ".join(report.missing_standard)
            + "[/]"
        )
