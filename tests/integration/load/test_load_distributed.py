"""Locust distributed mode end to end: a drill with two worker processes against a real server."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from load_helpers import REPORT_FILES, counts_by_endpoint, report, run_drill, wait_gone, write_drill

pytestmark = pytest.mark.slow

USERS = 6


def test_two_workers_record_every_request_and_leave_no_process(target, tmp_path: Path) -> None:
    """Two workers' rows reach the report, match the server's count, and both workers exit."""
    load = {
        "shape": {"type": "steady", "level": USERS},
        "workers": 2,
        "user_classes": ["Hitter"],
        "spawn_rate_per_s": 100,
    }
    drill = write_drill(tmp_path, target.url, load, duration_s=6)
    before = target.counts()
    code, run_dir, output = run_drill(drill, tmp_path / "reports")
    assert code == 0, output
    for name in REPORT_FILES:
        assert (run_dir / name).is_file(), name

    recorded = {int(e.split("-")[1]): n for e, n in counts_by_endpoint(run_dir).items()}
    after = target.counts()
    served = {
        int(k.split()[1]): after[k] - before.get(k, 0)
        for k in after
        if k.startswith("/fast ") and after[k] - before.get(k, 0) > 0
    }
    assert len(recorded) == 2, recorded  # rows came from two processes ...
    assert os.getpid() not in recorded  # ... neither of them this one
    assert set(recorded) == set(served)
    for pid, n in recorded.items():
        assert n > 100, (pid, n)  # ~3 users x 20/s x 6 s each
        assert served[pid] == n, (pid, served[pid], n)  # in flight at the stop: drained
    assert report(run_dir)["load"]["workers"] == 2
    assert wait_gone(list(recorded)) == [], "worker processes left behind"
