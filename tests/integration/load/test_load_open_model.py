"""The open model for real: arrivals on schedule against a server, dropped and corrected latency."""

from __future__ import annotations

from pathlib import Path

import pytest
from load_helpers import counts_by_outcome, report, run_drill, write_drill

pytestmark = pytest.mark.slow


def test_open_model_overloaded_drops_arrivals_and_corrects_latency(target, tmp_path: Path) -> None:
    """5 users x 250 ms serve 20/s of 40/s: arrivals drop, achieved < intended, p99 corrected > p99.

    The drops are errors to the checks: the drill-wide error ratio counts them and an
    availability check fails because of them (every request sent was answered ok).
    """
    load = {
        "model": "open",
        "shape": {"type": "steady", "level": 40},
        "max_concurrency": 5,
        "user_classes": ["SlowArrival"],
    }
    checks = [
        {"type": "availability", "min_ratio": 0.9},
        {"type": "error_rate", "max_ratio": 1.0},
    ]
    drill = write_drill(tmp_path, target.url, load, 5, phase_checks=[], checks=checks)
    code, run_dir, output = run_drill(drill, tmp_path / "r")
    assert code == 1, output  # the availability check fails: verdict 'fail'
    summary = report(run_dir)
    load_summary = summary["load"]
    assert load_summary["intended_rps"] == pytest.approx(40, rel=0.1)
    assert load_summary["achieved_rps"] < 0.75 * load_summary["intended_rps"]
    assert load_summary["dropped_arrivals"] > 0
    phase = summary["phases"][0]
    assert phase["p99_corrected_ms"] > phase["p99_ms"] + 100  # ~250 ms queued in the backlog

    # every drop is a row, none twice (also those issued after 5 s, before the load stopped)
    assert (
        counts_by_outcome(run_dir)["harness:dropped", "error"] == load_summary["dropped_arrivals"]
    )
    recorded = counts_by_outcome(run_dir, before_bucket=20)  # the drill: 5 s of 0.25 s buckets
    dropped = recorded["harness:dropped", "error"]
    sent_ok, sent_error = recorded["slow", "ok"], recorded["slow", "error"]
    assert sent_error == 0, recorded
    results = {c["type"]: c for c in summary["checks"]}
    assert results["error_rate"]["measured"] == pytest.approx(dropped / (dropped + sent_ok))
    assert results["availability"]["measured"] == pytest.approx(sent_ok / (dropped + sent_ok))
    assert not results["availability"]["passed"]
    assert summary["verdict"] == "fail"
    # latency is about requests sent: the drops' empty histograms change no percentile
    assert phase["endpoints"]["harness:dropped"]["p99_ms"] is None
    assert phase["p99_ms"] == pytest.approx(phase["endpoints"]["slow"]["p99_ms"])


def test_open_model_keeping_up_sends_every_arrival(target, tmp_path: Path) -> None:
    """20 users easily serve 25/s of 10 ms requests: nothing dropped, achieved ~ intended."""
    load = {
        "model": "open",
        "shape": {"type": "steady", "level": 25},
        "max_concurrency": 20,
        "user_classes": ["QuickArrival"],
    }
    code, run_dir, output = run_drill(write_drill(tmp_path, target.url, load, 4), tmp_path / "r")
    assert code == 0, output
    load_summary = report(run_dir)["load"]
    assert load_summary["dropped_arrivals"] == 0
    assert load_summary["intended_rps"] == pytest.approx(25, rel=0.1)
    assert load_summary["achieved_rps"] == pytest.approx(load_summary["intended_rps"], rel=0.1)
