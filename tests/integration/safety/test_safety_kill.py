"""SIGKILL cannot be caught: results are on disk already, and leftovers are removed afterwards."""

from __future__ import annotations

from pathlib import Path

import pytest
from safety_helpers import (
    DEPS_BROKEN,
    FOREIGN_TOXIC,
    Child,
    DrillEnv,
    events,
    is_clean,
    report_json,
    run_args,
    start_harness,
    toxiproxy_state,
    wait_for,
    wait_for_faults,
    write_drill,
)

pytestmark = pytest.mark.slow

ERRORS_LOW = [{"type": "error_rate", "max_ratio": 0.5}]
REPORT_FILES = ["report.html", "summary.md", "junit.xml", "report.json"]


def _killed_run(env: DrillEnv, tmp_path: Path, run_id: str) -> Path:
    """Start a drill, wait until its faults are on and metric rows are on disk, SIGKILL it."""
    drill = write_drill(
        tmp_path,
        "kill-drill",
        [
            {"name": "base", "duration_s": 0.5, "checks": ERRORS_LOW},
            {"name": "broken", "duration_s": 20, "faults": ["deps-broken"], "checks": ERRORS_LOW},
        ],
        faults={"deps-broken": DEPS_BROKEN},
    )
    run_dir = tmp_path / run_id
    metrics = run_dir / "raw" / "metrics.jsonl"
    child = start_harness(run_args(drill, env, tmp_path, run_id), tmp_path)
    try:
        wait_for_faults(run_dir, 2, child)
        wait_for(lambda: metrics.is_file() and metrics.stat().st_size > 0, 20, child, "metric rows")
        child.proc.kill()
        child.wait(10)
    finally:
        child.stop()
    return run_dir


def _harness(args: list[str], tmp_path: Path, timeout_s: float = 30) -> Child:
    child = start_harness(args, tmp_path / "logs")
    try:
        child.wait(timeout_s)
    finally:
        child.stop()
    return child


def test_sigkill_leaves_results_a_report_rebuilds_and_cleanup_removes_exactly_its_faults(
    env: DrillEnv, tmp_path: Path
) -> None:
    """After SIGKILL: raw files hold rows, `report` says inconclusive, `cleanup` removes only ours."""
    env.adapter.add_toxic("dep_a", FOREIGN_TOXIC)
    run_dir = _killed_run(env, tmp_path, "killed")
    state = toxiproxy_state(env.adapter)
    assert state["dep_a"] == (True, ["harness.killed.dep-a-slow", "ops-latency"])
    assert state["dep_b"] == (False, [])
    assert events(run_dir, "fault_applied") and not events(run_dir, "run_ended")

    rebuilt = _harness(["report", str(run_dir)], tmp_path)
    assert rebuilt.proc.returncode == 3, rebuilt.stderr
    assert "did not record its end" in rebuilt.stdout
    assert all((run_dir / name).is_file() for name in REPORT_FILES)
    assert report_json(run_dir)["verdict"] == "inconclusive"

    cleanup = _harness(["cleanup", "--toxiproxy-url", env.toxiproxy_url], tmp_path)
    assert cleanup.proc.returncode == 0, cleanup.stderr
    assert "removed toxic 'harness.killed.dep-a-slow'" in cleanup.stdout
    assert "proxy 'dep_b': re-enabled" in cleanup.stdout
    state = toxiproxy_state(env.adapter)
    assert state["dep_a"] == (True, ["ops-latency"])  # someone else's toxic is never touched
    assert state["dep_b"] == (True, [])
    assert state["front"] == (True, [])


def test_next_run_removes_leftovers_in_preflight_then_passes_clean(
    env: DrillEnv, tmp_path: Path
) -> None:
    """The run after a SIGKILLed one removes its leftovers first, then ends normally: clean, exit 0."""
    _killed_run(env, tmp_path, "killed")
    assert not is_clean(env.adapter)
    drill = write_drill(
        tmp_path,
        "next-drill",
        [
            {"name": "base", "duration_s": 0.5, "checks": ERRORS_LOW},
            {"name": "broken", "duration_s": 1, "faults": ["deps-broken"], "checks": ERRORS_LOW},
            {"name": "after", "duration_s": 0.5, "checks": ERRORS_LOW},
        ],
        faults={"deps-broken": DEPS_BROKEN},
    )
    child = _harness(run_args(drill, env, tmp_path, "next"), tmp_path)
    assert child.proc.returncode == 0, child.stderr
    assert "removed faults left by an earlier run that was killed" in child.stderr
    assert "harness.killed.dep-a-slow" in child.stderr
    assert len(events(tmp_path / "next", "fault_applied")) == 2
    assert len(events(tmp_path / "next", "fault_reverted")) == 2
    assert is_clean(env.adapter)
    assert report_json(tmp_path / "next")["verdict"] == "pass"
    assert "PASS" in child.stdout


def test_sla_breach_exits_1_and_prints_the_failed_check(env: DrillEnv, tmp_path: Path) -> None:
    """A check that fails (p95 under 0.001 ms is impossible) gives verdict fail, exit 1, check shown."""
    drill = write_drill(
        tmp_path,
        "breach-drill",
        [
            {
                "name": "base",
                "duration_s": 1.5,
                "checks": [{"type": "latency", "percentile": 95, "max_ms": 0.001}, *ERRORS_LOW],
            }
        ],
    )
    child = _harness(run_args(drill, env, tmp_path, "breach"), tmp_path)
    assert child.proc.returncode == 1, child.stderr
    assert "FAIL" in child.stdout
    assert "p95 latency" in child.stdout and "0.001" in child.stdout
    report = report_json(tmp_path / "breach")
    assert report["verdict"] == "fail"
    assert [c["passed"] for c in report["checks"]] == [False, True]
