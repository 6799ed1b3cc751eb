"""A drill stopped early (abort condition, signal, error, broken infrastructure) removes its faults."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from safety_helpers import (
    DEPS_BROKEN,
    EXIT_WAIT_S,
    EXPLODING_SCENARIO,
    FRONT_DOWN,
    SIGNALS,
    DrillEnv,
    events,
    is_clean,
    journal,
    report_json,
    run_args,
    start_harness,
    wait_for,
    wait_for_faults,
    write_drill,
)

pytestmark = pytest.mark.slow

ERRORS_LOW = [{"type": "error_rate", "max_ratio": 0.5}]


def test_abort_condition_stops_load_and_removes_faults_within_2_s(
    env: DrillEnv, tmp_path: Path
) -> None:
    """error_ratio above 0.5 for 2 s aborts the drill; faults are off within 2 s, exit 4."""
    drill = write_drill(
        tmp_path,
        "abort-drill",
        [
            {"name": "base", "duration_s": 1, "checks": ERRORS_LOW},
            {"name": "broken", "duration_s": 8, "faults": ["front-down"]},
        ],
        faults={"front-down": FRONT_DOWN},
        abort=[{"metric": "error_ratio", "above": 0.5, "for_s": 2}],
    )
    child = start_harness(run_args(drill, env, tmp_path, "abort", via_front=True), tmp_path)
    try:
        assert child.wait(40) == 4, child.stderr
    finally:
        child.stop()
    run_dir = tmp_path / "abort"
    [aborted] = events(run_dir, "aborted")
    [applied] = events(run_dir, "fault_applied")
    [reverted] = events(run_dir, "fault_reverted")
    assert "abort condition met: error_ratio > 0.5 for 2 s" in aborted["message"]
    assert aborted["t_s"] - applied["t_s"] >= 1.0  # 2 whole seconds judged bad, the first partly
    assert reverted["t_s"] - aborted["t_s"] <= 2.0
    assert aborted["t_s"] < 8.0  # stopped long before the planned end (9 s)
    assert is_clean(env.adapter)
    report = report_json(run_dir)
    assert report["verdict"] == "aborted"
    assert "aborted" in child.stdout.lower()


@pytest.mark.parametrize("name", ["SIGINT", "SIGTERM"])
def test_signal_mid_fault_reverts_everything_and_exits_4(
    env: DrillEnv, tmp_path: Path, name: str
) -> None:
    """SIGINT or SIGTERM while faults are on: faults removed, journal names the signal, exit 4."""
    drill = write_drill(
        tmp_path,
        "signal-drill",
        [
            {"name": "base", "duration_s": 0.5, "checks": ERRORS_LOW},
            {"name": "broken", "duration_s": 20, "faults": ["deps-broken"]},
        ],
        faults={"deps-broken": DEPS_BROKEN},
    )
    run_dir = tmp_path / "sig"
    child = start_harness(run_args(drill, env, tmp_path, "sig"), tmp_path)
    try:
        wait_for_faults(run_dir, 2, child)
        assert not is_clean(env.adapter)
        child.signal(SIGNALS[name])
        assert child.wait(EXIT_WAIT_S) == 4, child.stderr
    finally:
        child.stop()
    assert is_clean(env.adapter)
    assert any(e["message"] == f"stopped by {name}" for e in events(run_dir, "aborted"))
    assert len(events(run_dir, "fault_reverted")) == 2
    assert report_json(run_dir)["verdict"] == "aborted"
    assert not list((tmp_path / "state").glob("**/sig.json"))  # no ledger left behind
    assert "Traceback" not in child.stderr


def test_exception_inside_the_run_removes_faults_and_is_inconclusive(
    env: DrillEnv, tmp_path: Path
) -> None:
    """An unexpected error inside the loop: faults removed, verdict inconclusive, exit 3."""
    drill = write_drill(
        tmp_path,
        "boom-drill",
        [
            {"name": "base", "duration_s": 0.5, "checks": ERRORS_LOW},
            {"name": "broken", "duration_s": 20, "faults": ["deps-broken"]},
        ],
        faults={"deps-broken": DEPS_BROKEN},
        scenario=EXPLODING_SCENARIO,
    )
    child = start_harness(run_args(drill, env, tmp_path, "boom"), tmp_path)
    try:
        assert child.wait(EXIT_WAIT_S) == 3, child.stderr
    finally:
        child.stop()
    run_dir = tmp_path / "boom"
    assert len(events(run_dir, "fault_applied")) == 2
    assert len(events(run_dir, "fault_reverted")) == 2
    [error] = events(run_dir, "infrastructure_error")
    assert "RuntimeError: injected failure inside the drill loop" in error["message"]
    assert is_clean(env.adapter)
    assert report_json(run_dir)["verdict"] == "inconclusive"
    assert "Traceback" not in child.stderr


def test_toxiproxy_dying_mid_drill_is_inconclusive(env: DrillEnv, tmp_path: Path) -> None:
    """Toxiproxy killed while a fault is on: the drill stops, verdict inconclusive, exit 3."""
    drill = write_drill(
        tmp_path,
        "toxi-dies",
        [
            {"name": "base", "duration_s": 0.5, "checks": ERRORS_LOW},
            {"name": "broken", "duration_s": 20, "faults": ["deps-broken"], "checks": ERRORS_LOW},
        ],
        faults={"deps-broken": DEPS_BROKEN},
    )
    run_dir = tmp_path / "toxi"
    child = start_harness(run_args(drill, env, tmp_path, "toxi"), tmp_path)
    try:
        wait_for_faults(run_dir, 2, child)
        os.killpg(env.toxiproxy.pid, signal.SIGKILL)
        assert child.wait(EXIT_WAIT_S) == 3, child.stderr
    finally:
        child.stop()
    report = report_json(run_dir)
    assert report["verdict"] == "inconclusive"
    assert "Toxiproxy stopped answering" in report["verdict_reason"]
    assert events(run_dir, "fault_revert_failed")  # recorded, and left in the ledger for cleanup
    assert journal(run_dir)[-1]["t_s"] < 15.0  # stopped early, not at the planned end (20.5 s)


def test_target_dying_before_the_end_is_inconclusive_not_fail(
    env: DrillEnv, tmp_path: Path
) -> None:
    """A target that stops answering 2 s before the end gives 'inconclusive' (exit 3), not 'fail'."""
    drill = write_drill(
        tmp_path,
        "target-dies",
        [
            {"name": "base", "duration_s": 1.5, "checks": ERRORS_LOW},
            {
                "name": "late",
                "duration_s": 2.5,
                "checks": [{"type": "error_rate", "max_ratio": 0.01}],
            },
        ],
    )
    run_dir = tmp_path / "dies"
    child = start_harness(run_args(drill, env, tmp_path, "dies"), tmp_path)
    try:
        wait_for(
            lambda: any(
                e.get("data", {}).get("phase") == "late" for e in events(run_dir, "phase_started")
            ),
            20,
            child,
            "phase late",
        )
        env.target.stop()
        assert child.wait(EXIT_WAIT_S) == 3, child.stderr
    finally:
        child.stop()
    report = report_json(run_dir)
    assert report["verdict"] == "inconclusive"
    assert "stopped accepting connections" in report["verdict_reason"]
