"""The open model on Locust workers: each worker runs its share of the arrival schedule."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from load_helpers import (
    counts_by_endpoint,
    counts_by_outcome,
    journal,
    report,
    run_drill,
    wait_gone,
    write_drill,
)

pytestmark = pytest.mark.slow

RATE = 40  # arrivals a second over both workers
WORKERS = 2


def served_by_pid(before: dict[str, int], after: dict[str, int], path: str) -> dict[int, int]:
    """Requests the server saw per X-Worker-Pid for ``path`` between two /counts."""
    return {
        int(key.split()[1]): after[key] - before.get(key, 0)
        for key in after
        if key.startswith(f"{path} ") and key.split()[1].isdigit()
        if after[key] - before.get(key, 0) > 0
    }


def recorded_by_pid(run_dir: Path) -> dict[int, int]:
    """Requests recorded per worker pid (endpoint ``open-<pid>``) in metrics.jsonl."""
    return {
        int(e.split("-")[1]): n
        for e, n in counts_by_endpoint(run_dir).items()
        if e.startswith("open-")
    }


def arrivals_at_end(run_dir: Path) -> dict:
    return next(e for e in journal(run_dir) if e["kind"] == "run_ended")["data"]


def test_open_model_on_two_workers_keeps_the_schedule(target, tmp_path: Path) -> None:
    """40/s over 2 workers for 5 s: the server sees ~200 requests, about half from each worker.

    Nothing is dropped (20 users for 20 ms requests), the journal has the arrivals in
    total and per worker, and the latency is also corrected from the intended start.
    """
    duration_s = 5
    load = {
        "model": "open",
        "shape": {"type": "steady", "level": RATE},
        "max_concurrency": 20,
        "workers": WORKERS,
        "user_classes": ["OpenQuick"],
    }
    drill = write_drill(tmp_path, target.url, load, duration_s)
    before = target.counts()
    code, run_dir, output = run_drill(drill, tmp_path / "r")
    assert code == 0, output
    served = served_by_pid(before, target.counts(), "/slow")
    recorded = recorded_by_pid(run_dir)

    assert len(served) == WORKERS and os.getpid() not in served, served
    assert served == recorded  # every request sent was recorded, by the worker that sent it
    total = sum(served.values())
    assert total == pytest.approx(RATE * duration_s, rel=0.05), served  # the schedule kept
    for pid, n in served.items():
        assert n == pytest.approx(RATE * duration_s / WORKERS, rel=0.1), (pid, n)

    ended = arrivals_at_end(run_dir)
    print(f"served per pid {served}, arrivals {ended}")  # shown with -s or on failure
    per_worker = ended["workers"]
    assert set(per_worker) == {f"worker-{pid}" for pid in served}
    assert ended["intended_arrivals"] == sum(w["intended_arrivals"] for w in per_worker.values())
    assert ended["intended_arrivals"] == pytest.approx(RATE * duration_s, rel=0.05)
    assert ended["dropped_arrivals"] == 0
    load_summary = report(run_dir)["load"]
    assert load_summary["dropped_arrivals"] == 0
    # rates are per the time arrivals were issued (the loop), not per run_ended, which
    # comes after the workers' stop and the drain
    assert load_summary["intended_rps"] == pytest.approx(RATE, rel=0.05)
    assert load_summary["achieved_rps"] == pytest.approx(RATE, rel=0.05)
    phase = report(run_dir)["phases"][0]
    assert phase["p99_corrected_ms"] is not None  # the lateness travelled with each request
    assert phase["p99_corrected_ms"] >= phase["p99_ms"]
    assert wait_gone(list(served)) == [], "worker processes left behind"


def test_open_model_on_two_workers_counts_drops_per_worker(target, tmp_path: Path) -> None:
    """4 users (2 a worker) x 400 ms serve ~10/s of 40/s: both workers drop arrivals.

    The drops per worker add up to the total, the total equals the ``harness:dropped``
    rows, and the corrected p99 shows the time arrivals waited in the backlogs.
    """
    duration_s = 4
    load = {
        "model": "open",
        "shape": {"type": "steady", "level": RATE},
        "max_concurrency": 4,
        "workers": WORKERS,
        "user_classes": ["OpenSlow"],
    }
    checks = [{"type": "error_rate", "max_ratio": 1.0}]
    drill = write_drill(tmp_path, target.url, load, duration_s, phase_checks=[], checks=checks)
    before = target.counts()
    code, run_dir, output = run_drill(drill, tmp_path / "r")
    assert code == 0, output
    served = served_by_pid(before, target.counts(), "/slow")
    assert len(served) == WORKERS, served
    assert served == recorded_by_pid(run_dir)

    ended = arrivals_at_end(run_dir)
    print(f"served per pid {served}, arrivals {ended}")  # shown with -s or on failure
    per_worker = ended["workers"]
    assert set(per_worker) == {f"worker-{pid}" for pid in served}
    for name, figures in per_worker.items():
        assert figures["dropped_arrivals"] > 0.4 * figures["intended_arrivals"], (name, figures)
        assert figures["intended_arrivals"] == pytest.approx(
            RATE * duration_s / WORKERS, rel=0.15
        ), (name, figures)
    dropped = ended["dropped_arrivals"]
    assert dropped == sum(w["dropped_arrivals"] for w in per_worker.values())
    assert counts_by_outcome(run_dir)["harness:dropped", "error"] == dropped
    # an arrival is sent, dropped, or was still waiting in a backlog at the stop
    assert sum(served.values()) + dropped <= ended["intended_arrivals"]
    summary = report(run_dir)
    assert summary["load"]["dropped_arrivals"] == dropped
    phase = summary["phases"][0]
    assert phase["p99_corrected_ms"] > phase["p99_ms"] + 100  # ~400 ms waited in the backlog
    assert wait_gone(list(served)) == [], "worker processes left behind"
