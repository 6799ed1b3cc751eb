"""A Locust worker killed mid-drill: the run says so and is inconclusive, never 'pass'."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from load_helpers import is_alive, journal, report, start_drill, wait_gone, write_drill

pytestmark = pytest.mark.slow

DURATION_S = 12

LOADS = {
    "closed": ({"shape": {"type": "steady", "level": 6}, "user_classes": ["Hitter"]}, "/fast"),
    "open": (
        {
            "model": "open",
            "shape": {"type": "steady", "level": 40},
            "max_concurrency": 10,
            "user_classes": ["OpenQuick"],
        },
        "/slow",
    ),
}


def busy_pids(
    target, before: dict[str, int], path: str, drill: subprocess.Popen, timeout_s: float = 30
) -> list[int]:
    """The pids (X-Worker-Pid) of the two workers, once the server has seen both send."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if drill.poll() is not None:
            raise AssertionError(f"the drill ended early: {drill.communicate()[0]}")
        counts = target.counts()
        pids = sorted(
            int(k.split()[1])
            for k, n in counts.items()
            if k.startswith(f"{path} ") and k.split()[1].isdigit() and n - before.get(k, 0) > 5
        )
        if len(pids) == 2:
            return pids
        time.sleep(0.1)
    raise AssertionError(f"two workers never sent {path} requests: {counts}")


def kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


@pytest.mark.parametrize("model", sorted(LOADS))
def test_a_worker_killed_mid_drill_makes_the_run_inconclusive(
    target, tmp_path: Path, model: str
) -> None:
    """SIGKILL one of two workers at ~2 s of a 12 s drill: exit 3, reason names it, nothing left."""
    load, path = LOADS[model]
    drill = write_drill(tmp_path, target.url, {**load, "workers": 2}, DURATION_S)
    before = target.counts()
    process = start_drill(drill, tmp_path / "r")
    pids: list[int] = []
    try:
        pids = busy_pids(target, before, path, process)
        victim, survivor = pids
        os.kill(victim, signal.SIGKILL)
        output, _ = process.communicate(timeout=40)
    finally:
        if process.poll() is None:
            kill_group(process.pid)
            process.communicate()
        for pid in pids:  # each worker runs in its own process group
            if is_alive(pid):
                kill_group(pid)
    assert process.returncode == 3, output
    run_dir = tmp_path / "r" / "run"
    summary = report(run_dir)
    assert summary["verdict"] == "inconclusive"
    assert f"worker-{victim}" in summary["verdict_reason"], summary["verdict_reason"]
    assert "lost mid-drill" in summary["verdict_reason"]
    events = journal(run_dir)
    lost = [e for e in events if e["kind"] == "infrastructure_error"]
    print(f"killed worker-{victim}; journal: {lost}")  # shown with -s or on failure
    assert len(lost) == 1 and f"worker-{victim}" in lost[0]["message"], lost
    assert lost[0]["t_s"] < DURATION_S - 4, lost  # noticed at once, the drill stopped early
    assert wait_gone([victim, survivor, process.pid]) == [], "processes left behind"
