"""The plugin's child process: stopped politely on timeout with faults reverted; a cheap import."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from harness.pytest_plugin import DrillRunError, run_drill_in_child

# 30 s with the orders primary down from the first second: far longer than the timeout below.
REPO = Path(__file__).resolve().parents[3]
LONG_DRILL = """\
name: too-long
target: {url: "http://127.0.0.1:9", health_path: /healthz}
proxies:
  - name: helpdesk_orders_primary
load:
  scenario: SCENARIO
  shape: {type: steady, level: 2}
phases:
  - {name: before, duration_s: 1}
  - {name: outage, duration_s: 29, faults: [FAULTS/orders-primary-outage.yaml], checks: [{type: error_rate, max_ratio: 1.0}]}
""".replace("SCENARIO", str(REPO / "scenarios" / "customer_journeys.py")).replace(
    "FAULTS", str(REPO / "faults")
)


def _processes_mentioning(text: str) -> list[int]:
    """Pids of live processes whose command line contains ``text``."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmdline and int(entry.name) != os.getpid():
            pids.append(int(entry.name))
    return pids


@pytest.mark.slow
def test_timeout_stops_the_drill_and_reverts_faults(
    reference_environment: object, tmp_path: Path
) -> None:
    """A drill over its time limit gets SIGTERM, reverts its fault, and leaves no process behind."""
    drill = tmp_path / "too-long.yaml"
    drill.write_text(LONG_DRILL, encoding="utf-8")
    toxiproxy_url = reference_environment.toxiproxy_url  # type: ignore[attr-defined]
    started = time.monotonic()
    with pytest.raises(DrillRunError, match=r"did not finish within 6 s and was stopped"):
        run_drill_in_child(
            drill,
            reports_dir=tmp_path / "reports",
            target_url=reference_environment.target_url,  # type: ignore[attr-defined]
            toxiproxy_url=toxiproxy_url,
            timeout_s=6,
        )
    assert time.monotonic() - started < 25, "the child should stop well before the drill's end"
    assert _processes_mentioning(str(drill)) == []
    proxy = httpx.get(f"{toxiproxy_url}/proxies/helpdesk_orders_primary", timeout=5).json()
    assert proxy["enabled"] is True and proxy["toxics"] == []
    log = next((tmp_path / "reports").glob("*.log")).read_text(encoding="utf-8")
    assert "phase outage" in log, "the fault had been applied before the stop"


def test_missing_drill_file_raises_with_the_childs_message(tmp_path: Path) -> None:
    """A drill the child cannot load raises DrillRunError with exit code 2 and the child's sentence."""
    with pytest.raises(DrillRunError, match=r"exited 2 without writing a report(.|\n)*nope.yaml"):
        run_drill_in_child(tmp_path / "nope.yaml", reports_dir=tmp_path)


def test_importing_the_plugin_stays_light() -> None:
    """Importing the plugin (every pytest run does) pulls in no pydantic, drill model or Locust."""
    code = (
        "import sys, harness.pytest_plugin; "
        "print(sorted(m for m in sys.modules if m.startswith(('harness.', 'pydantic', 'locust', "
        "'gevent', 'helpdesk', 'toxiserver', 'rich'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30
    ).stdout
    assert out.strip() == "['harness.pytest_plugin']"
