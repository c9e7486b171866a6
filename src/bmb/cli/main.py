"""The ``bmb`` command and its single error boundary.

Command modules register themselves here. Each keeps its heavy imports inside the
command function so that ``bmb --help`` starts fast. Errors raised as
:class:`bmb.domain.errors.BmbError` become one plain line on stderr and an exit code
(0 done, 1 failed at run time, 2 bad usage); a traceback appears only with ``--debug``.
"""

from __future__ import annotations

import sys

import typer
from typer.exceptions import Abort, Exit, TyperException

from bmb._version import __version__
from bmb.cli import (
    cmd_audit,
    cmd_characterize,
    cmd_cohort,
    cmd_fhir,
    cmd_indicators,
    cmd_lake,
    cmd_optout,
    cmd_output,
    cmd_planning,
    cmd_project,
    cmd_rates,
    cmd_registry,
    cmd_report,
    cmd_risk,
    cmd_session,
    cmd_synth,
    cmd_user,
    cmd_vocab,
)
from bmb.domain.errors import BmbError

app = typer.Typer(
    name="bmb",
    help=(
        "BMB, the biomedical data lake of a region.\n\n"
        "Synthesize a region, ingest its health flows into an OMOP CDM lake, query it.\n\n"
        "Example: bmb synth --persons 20000 --years 2024-2025 --out region/"
    ),
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)

_DEBUG = False


def _version(value: bool) -> None:
    if value:
        typer.echo(f"bmb {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    global _DEBUG
    _DEBUG = debug


cmd_characterize.register(app)
cmd_cohort.register(app)
cmd_fhir.register(app)
cmd_lake.register(app)
cmd_vocab.register(app)
cmd_rates.register(app)
cmd_synth.register(app)
cmd_registry.register(app)
cmd_risk.register(app)
cmd_planning.register(app)
cmd_indicators.register(app)
cmd_report.register(app)
cmd_user.register(app)
cmd_project.register(app)
cmd_optout.register(app)
cmd_session.register(app)
cmd_output.register(app)
cmd_audit.register(app)


def run(argv: list[str] | None = None) -> int:
    """Entry point of the console script: run the app inside the error boundary."""
    command = typer.main.get_command(app)
    try:
        result = command.main(args=argv, prog_name="bmb", standalone_mode=False)
        if isinstance(result, int) and not isinstance(result, bool):
            return result  # a command's typer.Exit(code), returned in this mode
    except Exit as exc:
        return int(exc.exit_code)
    except Abort:
        typer.echo("bmb: aborted", err=True)
        return 1
    except TyperException as exc:  # bad usage: unknown command, bad option value
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            typer.echo(f"bmb: {exc}", err=True)
        return int(getattr(exc, "exit_code", 2))
    except BmbError as exc:
        if _DEBUG or "--debug" in (argv or sys.argv):
            raise
        typer.echo(f"bmb: error: {exc}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        typer.echo("bmb: interrupted", err=True)
        return 130
    return 0


def main() -> None:
    """``python -m bmb``."""
    sys.exit(run())


if __name__ == "__main__":
    main()
