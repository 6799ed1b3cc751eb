"""Short drills for the plugin tests: a few seconds of light load against the reference system."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
SHIPPED_DRILL = REPO / "drills" / "orders-primary-outage.yaml"

# 3 s of light load; the p50 limit cannot hold (no request takes under a microsecond),
# the error-ratio limit always holds. The target URL is replaced by the plugin's options.
FAILING_DRILL_YAML = """\
name: short-tight
target: {url: "http://127.0.0.1:9", health_path: /healthz}
load:
  scenario: SCENARIO
  shape: {type: steady, level: 4}
phases:
  - name: warmup
    duration_s: 1
  - name: steady
    duration_s: 2
    checks:
      - {type: latency, percentile: 50, max_ms: 0.001}
      - {type: error_rate, max_ratio: 0.5}
""".replace("SCENARIO", str(REPO / "scenarios" / "customer_journeys.py"))

# The same drill built in Python inside a test, with one check that holds and one that cannot.
PYTHON_DRILL_TEST = """\
import pytest

from harness.drill.model import Drill
from harness.pytest_plugin import DrillFailed


def short_drill():
    return Drill.model_validate({
        "name": "python-built",
        "target": {"url": "http://127.0.0.1:9"},
        "load": {"scenario": "SCENARIO", "shape": {"type": "steady", "level": 4}},
        "phases": [
            {"name": "warmup", "duration_s": 1},
            {"name": "steady", "duration_s": 2, "checks": [
                {"type": "latency", "percentile": 95, "max_ms": 60000, "name": "p95-loose"},
                {"type": "latency", "percentile": 50, "max_ms": 0.001, "name": "p50-impossible"},
            ]},
        ],
    })


def test_python_drill(run_drill):
    outcome = run_drill(short_drill())
    assert outcome.check("p95-loose").passed
    assert not outcome.check("p50-impossible").passed
    assert outcome.report_html.is_file()
    with pytest.raises(DrillFailed) as failed:
        outcome.assert_passed()
    message = str(failed.value)
    assert "p50-impossible: measured" in message and "required <= 0.001 ms" in message
    assert "p95-loose" not in message
    print("EXPLAINED:", message.replace(chr(10), " | "))
""".replace("SCENARIO", str(REPO / "scenarios" / "customer_journeys.py"))
