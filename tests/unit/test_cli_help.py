"""``harness --help`` and every subcommand's: each option and argument says what it is for."""

from __future__ import annotations

import argparse

import pytest

from harness import cli


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


@pytest.mark.parametrize("command", sorted(_subparsers(cli._parser())))
def test_every_option_and_argument_has_help(command: str) -> None:
    """No option or positional argument of a subcommand is left without a help string."""
    parser = _subparsers(cli._parser())[command]
    bare = [a.dest for a in parser._actions if a.help is None]
    assert bare == []


def test_compare_help_shows_the_default_tolerances(capsys: pytest.CaptureFixture[str]) -> None:
    """``harness compare --help`` prints each tolerance's default and the regression rule."""
    with pytest.raises(SystemExit):
        cli._parse(["compare", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    for default in ("(default: 10)", "(default: 5)", "(default: 0.01)", "(default: 0.05)",
                    "(default: 0.02)", "(default: 1)"):
        assert default in out
    assert "run-to-run spread" in out


@pytest.mark.parametrize(
    ("argv", "usage", "listed"),
    [
        (["system", "--help"], "usage: harness system", ["up", "down", "status", "restart"]),
        (["system", "up", "--help"], "usage: harness system up", ["--port", "--state-dir"]),
        (["toxiproxy", "--help"], "usage: harness toxiproxy", ["--port", "--host", "--seed"]),
    ],
)
def test_passthrough_help_is_the_tools_own_under_our_name(
    argv: list[str], usage: str, listed: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """``harness system [up] --help`` and ``harness toxiproxy --help`` show the tool's options."""
    args = cli._parse(argv)
    run = cli._system if argv[0] == "system" else cli._toxiproxy
    with pytest.raises(SystemExit) as exited:
        run(args)
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(usage) and "helpdesk up" not in out
    assert all(word in out for word in listed)
