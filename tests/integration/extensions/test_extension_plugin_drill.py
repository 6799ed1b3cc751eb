"""The example plugin end to end: a drill using its check and shape runs and is judged,
and `harness report` writes its report format.

examples/harness-plugin-example is installed by the README's test command
(scripts/_venv); the drill runs in a child process against the load tests' tiny
HTTP server, which is always stopped.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.load.load_helpers import report, run_drill, write_drill
from tests.servers import served

pytestmark = pytest.mark.slow

SERVER = Path(__file__).resolve().parents[1] / "load" / "load_server.py"
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def target_url() -> Iterator[str]:
    """load_server.py in a child process; its URL."""
    with served(SERVER) as url:
        yield url


def test_drill_with_plugin_check_and_shape_is_judged_and_reported(
    target_url: str, tmp_path: Path
) -> None:
    """apdex passes for a generous target and fails (score 0) for an impossible one; the
    sawtooth shape drives the load; checks.csv is written by the run and rebuilt by `report`."""
    drill = write_drill(
        tmp_path,
        target_url,
        {
            "user_classes": ["Hitter"],
            "shape": {"type": "sawtooth", "low": 1, "high": 4, "period_s": 1},
            "drain_s": 1,
        },
        2,
        phase_checks=[
            {"type": "apdex", "name": "apdex-generous", "target_ms": 2000, "min_score": 0.9},
            {"type": "apdex", "name": "apdex-impossible", "target_ms": 0.001, "min_score": 0.5},
        ],
    )
    validated = subprocess.run(
        [sys.executable, "-m", "harness", "validate", str(drill)],
        capture_output=True, text=True, timeout=60, cwd=REPO,
    )
    assert validated.returncode == 0, validated.stdout + validated.stderr

    code, run_dir, output = run_drill(drill, tmp_path / "reports")
    assert code == 1, output  # one check failed: the verdict is 'failed'
    checks = {c["name"]: c for c in report(run_dir)["checks"]}
    generous, impossible = checks["apdex-generous"], checks["apdex-impossible"]
    assert generous["type"] == "apdex" and generous["passed"], generous
    assert generous["measured"] >= 0.9 and generous["comparator"] == ">="
    assert not impossible["passed"] and impossible["measured"] == 0.0, impossible
    assert impossible["detail"].startswith("apdex(0.001 ms) was 0")
    assert "in phase 'load', breaching ≥" in impossible["detail"]

    written = run_dir / "checks.csv"
    first = written.read_text(encoding="utf-8")
    written.unlink()
    rebuilt = subprocess.run(
        [sys.executable, "-m", "harness", "report", str(run_dir)],
        capture_output=True, text=True, timeout=60, cwd=REPO,
    )
    assert rebuilt.returncode == 1, rebuilt.stdout + rebuilt.stderr  # exit code = the verdict
    assert written.read_text(encoding="utf-8") == first
    rows = list(csv.DictReader(first.splitlines()))
    assert [(r["row"], r["name"], r["passed"]) for r in rows] == [
        ("check", "apdex-generous", "True"),
        ("check", "apdex-impossible", "False"),
        ("verdict", "fail", "False"),
    ]
