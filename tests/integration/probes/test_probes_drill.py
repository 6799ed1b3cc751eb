"""Probes with real processes: a server whose answer the test flips mid-drill, a command
whose flag file the test removes, a Prometheus series that drops; each probe check
passes before the flip and fails after it, for the right reason.

The drill runs in a child process (harness run) against probe_server.py; both are
always stopped.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.integration.load.load_helpers import report, start_drill
from tests.servers import served

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent
SCENARIO = HERE.parent / "load" / "load_scenario.py"


@pytest.fixture
def server() -> Iterator[str]:
    """probe_server.py in a child process; its URL."""
    with served(HERE / "probe_server.py") as url:
        yield url


def probe_checks(min_ratio: float) -> list[dict]:
    return [{"type": "probe", "probe": p, "min_ratio": min_ratio} for p in ("api", "flag", "up")]


def write_drill(tmp_path: Path, url: str, flag: Path) -> Path:
    has_flag = f"import os, sys; sys.exit(0 if os.path.exists({str(flag)!r}) else 1)"
    drill = {
        "name": "probes",
        "target": {"url": url, "health_path": "/healthz", "metrics_path": "/metrics"},
        "load": {"scenario": str(SCENARIO), "user_classes": ["Hitter"],
                 "shape": {"type": "steady", "level": 2}, "drain_s": 1},
        "probes": [
            {"name": "api", "every_s": 0.25, "timeout_s": 1,
             "http": {"path": "/status", "body_contains": "ok"}},
            {"name": "flag", "every_s": 0.5, "at_phase_start": True, "timeout_s": 5,
             "command": {"argv": [sys.executable, "-c", has_flag]}},
            {"name": "up", "every_s": 0.5,
             "metric": {"name": "app_up", "labels": {"role": "api"}, "min": 1}},
        ],
        "phases": [
            {"name": "steady", "duration_s": 3, "checks": probe_checks(1.0)},
            {"name": "broken", "duration_s": 3,
             "checks": [*probe_checks(0.9), {"type": "error_rate", "max_ratio": 0}]},
        ],
    }
    path = tmp_path / "drill.yaml"
    path.write_text(yaml.safe_dump(drill), encoding="utf-8")
    return path


def wait_for_phase(run_dir: Path, phase: str, process: subprocess.Popen) -> None:
    journal = run_dir / "raw" / "journal.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if journal.is_file():
            for line in journal.read_text(encoding="utf-8").splitlines():
                event = json.loads(line)
                if event["kind"] == "phase_started" and event["data"].get("phase") == phase:
                    return
        time.sleep(0.02)
    raise AssertionError(f"phase {phase!r} never started")


def test_probes_pass_then_fail_after_the_flip_for_the_right_reason(
    server: str, tmp_path: Path
) -> None:
    """Probe checks pass in 'steady' and fail in 'broken' with what each probe saw; the load is
    unaffected (error_rate 0 holds); runs are in raw/probes.jsonl and on the timeline."""
    flag = tmp_path / "flag"
    flag.write_text("up")
    drill = write_drill(tmp_path, server, flag)
    process = start_drill(drill, tmp_path / "reports")
    try:
        wait_for_phase(tmp_path / "reports" / "run", "broken", process)
        urllib.request.urlopen(f"{server}/flip?state=down", timeout=5).close()
        flag.unlink()
        output, _ = process.communicate(timeout=90)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
    assert process.returncode == 1, output
    run_dir = tmp_path / "reports" / "run"
    result = report(run_dir)
    checks = {(c["phase"], c["name"].split("'")[1] if c["type"] == "probe" else c["type"]): c
              for c in result["checks"]}
    for probe in ("api", "flag", "up"):
        assert checks["steady", probe]["passed"], checks["steady", probe]["detail"]
        broken = checks["broken", probe]
        assert not broken["passed"] and broken["measured"] < 0.9, broken
    assert checks["broken", "error_rate"]["passed"], checks["broken", "error_rate"]["detail"]
    assert "status 503, expected 200" in checks["broken", "api"]["detail"]
    assert "exit 1, expected 0" in checks["broken", "flag"]["detail"]
    assert 'app_up{role="api"} = 0, expected ≥ 1' in checks["broken", "up"]["detail"]

    runs = [json.loads(line) for line in (run_dir / "raw" / "probes.jsonl").read_text().splitlines()]
    assert {r["probe"] for r in runs} == {"api", "flag", "up"}
    assert 20 <= sum(r["probe"] == "api" for r in runs) <= 26  # every 0.25 s for 6 s
    assert all(r["passed"] for r in runs if r["t_s"] < 3)
    notes = [e["message"] for e in result["events"] if e["kind"] == "note"]
    assert any(n.startswith("probe 'api' failing: status 503") for n in notes), notes
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    assert 'data-marker="probe"' in page  # a mark on the charts per failure and recovery
    assert "probe &#39;api&#39; failing: status 503, expected 200</title>" in page
