"""Liveness during a drill: a target whose health answers slowly under load is judged, not given up on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from load_helpers import journal, report, run_drill, write_drill


def test_a_slow_health_check_under_load_gets_a_verdict_not_inconclusive(
    target: Any, tmp_path: Path
) -> None:
    """Health 1.5 s late while busy, probe timeout 0.5 s, give-up 2 s: 'slow' is noted, exit 0."""
    drill = write_drill(
        tmp_path,
        target.url,
        {
            "user_classes": ["SlowArrival"],
            "model": "open",
            "shape": {"type": "steady", "level": 20},
            "drain_s": 1,
        },
        6.0,
        target={
            "health_path": "/healthz-under-load?ms=1500",
            "liveness": {"interval_s": 0.5, "timeout_s": 0.5, "give_up_s": 2.0},
        },
    )
    before = target.counts().get("/healthz-under-load slow", 0)
    code, run_dir, output = run_drill(drill, tmp_path / "reports")
    slow_answers = target.counts().get("/healthz-under-load slow", 0) - before
    assert slow_answers >= 3, "the target's own count: its health really was slow under load"
    assert code == 0, output
    assert report(run_dir)["verdict"] == "pass"
    events = journal(run_dir)
    assert not [e for e in events if e["kind"] == "infrastructure_error"]
    assert any(e["kind"] == "note" and "slow, still judged" in e["message"] for e in events)
