"""Options every lake command shares (DESIGN.md, the command line)."""

from __future__ import annotations

from pathlib import Path

import typer

LakeOption = typer.Option(
    None,
    "--lake",
    help="The lake directory. Default: $BMB_LAKE, else ./bmb-lake.",
    show_default=False,
)

KeyFileOption = typer.Option(
    None,
    "--key-file",
    help=(
        "The pseudonymization key file. Default: $BMB_KEY_FILE, else "
        "~/.config/bmb/keys/<lake id>.key. Never inside the lake."
    ),
    show_default=False,
)

JsonOption = typer.Option(False, "--json", help="Print JSON instead of tables.")


def lake_dir(value: Path | None) -> Path:
    from bmb.lake.paths import default_lake_dir

    return value if value is not None else default_lake_dir()
