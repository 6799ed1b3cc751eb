"""The command line as a user meets it: the plain live view of a real drill, --help, usage errors."""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from harness import cli

# 5 s of light load with the orders primary down in the middle phase; loose checks.
REPO = Path(__file__).resolve().parents[3]
LIVE_DRILL = """\
name: console-live
target: {url: "http://127.0.0.1:9", health_path: /healthz}
proxies:
  - name: helpdesk_orders_primary
load:
  scenario: SCENARIO
  shape: {type: steady, level: 4}
phases:
  - {name: before, duration_s: 2}
  - {name: outage, duration_s: 2, faults: [FAULTS/orders-primary-outage.yaml]}
  - {name: after, duration_s: 1, checks: [{type: error_rate, max_ratio: 1.0}]}
abort:
  - {metric: error_ratio, above: 0.95, for_s: 30}
""".replace("SCENARIO", str(REPO / "scenarios" / "customer_journeys.py")).replace(
    "FAULTS", str(REPO / "faults")
)
LINE = re.compile(
    r"^\[ *(?P<t>[\d.]+)/5 s\] phase (?P<phase>\w+) \(\d+ s left\) users \d+ "
    r"rps [\d.,]+ (dropped [\d,]+ )?p95 (-|[\d.,]+ ms) errors (-|[\d.]+ %) "
    r"(?P<generator>generator lag [\d.,]+ ms cpu [\d.,-]+ % )?faults: (?P<faults>.+)$"
)


def _harness(*args: str, timeout_s: float = 30) -> subprocess.CompletedProcess[str]:
    """``python -m harness ARGS`` with stdout and stderr captured (so stdout is not a terminal)."""
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def _commands() -> list[str]:
    """Every subcommand the parser knows, including ones added later."""
    actions = [a for a in cli._parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return sorted(actions[0].choices)


@pytest.mark.slow
def test_plain_live_view_of_a_real_drill(reference_environment: object, tmp_path: Path) -> None:
    """Off a terminal, a real drill prints the abort conditions and phase lines with rps/p95/errors/faults."""
    drill = tmp_path / "console-live.yaml"
    drill.write_text(LIVE_DRILL, encoding="utf-8")
    result = _harness(
        "run",
        str(drill),
        "--reports-dir",
        str(tmp_path / "reports"),
        "--target-url",
        reference_environment.target_url,  # type: ignore[attr-defined]
        "--toxiproxy-url",
        reference_environment.toxiproxy_url,  # type: ignore[attr-defined]
        timeout_s=90,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "abort when: error_ratio > 0.95 for 30 s"
    matches = [m for m in map(LINE.match, lines) if m]
    assert [m["phase"] for m in matches][0] == "before"
    assert {m["phase"] for m in matches} == {"before", "outage", "after"}
    outage = [m["faults"] for m in matches if m["phase"] == "outage"]
    assert outage[0] == "orders-primary-down on helpdesk_orders_primary"
    assert {m["faults"] for m in matches if m["phase"] != "outage"} == {"none"}
    assert len(matches) <= 12, "plain mode should print a few lines, not one per tick"
    assert any(m["generator"] for m in matches), "the load generator's lag and CPU are shown"
    assert "\x1b[" not in result.stdout, "no terminal control codes in plain mode"
    assert any(line.startswith("PASS  console-live") for line in lines)
    assert lines[-1].startswith("report: ") and lines[-1].endswith("/report.html")


@pytest.mark.parametrize("command", _commands())
def test_every_command_help_has_an_example(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``harness COMMAND --help`` exits 0 and ends with an example of that command."""
    with pytest.raises(SystemExit) as exited:
        cli.main([command, "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert f"usage: harness {command}" in out
    assert re.search(rf"example:\n  harness {command}\b", out), out


@pytest.mark.parametrize("command", _commands())
def test_every_help_example_parses(command: str) -> None:
    """The example printed by ``harness COMMAND --help`` is accepted by the parser as written."""
    example = cli.EXAMPLES[command].split(" > ")[0]  # drop a shell redirection
    args = cli._parse(shlex.split(example)[1:])
    assert args.command == command


def test_passthrough_commands_keep_their_options() -> None:
    """``harness toxiproxy --port 8474`` hands ``--port 8474`` to the embedded Toxiproxy."""
    assert cli._parse(["toxiproxy", "--port", "8474"]).args == ["--port", "8474"]
    assert cli._parse(["-v", "system", "up", "--port", "0"]).args == ["up", "--port", "0"]


def test_top_level_help_lists_commands_and_exit_codes() -> None:
    """``harness --help`` from the installed entry point lists every command and the exit codes."""
    result = _harness("--help")
    assert result.returncode == 0
    for command in _commands():
        assert command in result.stdout
    assert "exit codes: 0 pass, 1 SLA breached, 2 invalid input" in result.stdout


@pytest.mark.parametrize(
    "args",
    [["--bogus"], [], ["run", "--live", "fancy", "x.yaml"], ["compare", "only-one"]],
    ids=["unknown-flag", "no-command", "bad-choice", "missing-argument"],
)
def test_usage_errors_exit_2_without_traceback(args: list[str]) -> None:
    """A bad flag or missing argument prints usage and one error line, exit 2, no traceback."""
    result = _harness(*args)
    assert result.returncode == 2
    assert result.stderr.startswith("usage: harness")
    assert "harness" in result.stderr.splitlines()[-1] and "error:" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_missing_drill_file_is_a_sentence(tmp_path: Path) -> None:
    """``harness validate`` on a missing file exits 2 with a sentence naming it, no traceback."""
    result = _harness("validate", str(tmp_path / "nope.yaml"))
    assert result.returncode == 2
    assert "nope.yaml" in result.stderr and "Traceback" not in result.stderr
