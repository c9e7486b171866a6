"""The command line's conventions: help, version, exit codes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bmb.cli.main import run


def test_help_lists_commands_and_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--help"]) == 0
    assert "biomedical data lake" in capsys.readouterr().out


def test_unknown_command_is_a_usage_error() -> None:
    assert run(["no-such-command"]) == 2


def test_version_is_printed(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--version"]) == 0
    assert capsys.readouterr().out.startswith("bmb ")


def test_python_dash_m_bmb_runs() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bmb", "--help"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0
    assert "Usage" in done.stdout


def test_a_command_exit_code_is_returned() -> None:
    import typer

    from bmb.cli import main as cli_main

    @cli_main.app.command("exit-three", hidden=True)
    def _exit_three() -> None:
        raise typer.Exit(3)

    try:
        assert run(["exit-three"]) == 3
    finally:
        cli_main.app.registered_commands = [
            c for c in cli_main.app.registered_commands if c.name != "exit-three"
        ]
