"""The scale benchmark's workers mode runs end to end (--smoke; the figures are not judged)."""

from __future__ import annotations

import pytest
from bench_run import run_bench

pytestmark = pytest.mark.slow


def test_smoke_runs_a_closed_and_an_open_drill_on_a_local_worker() -> None:
    """Both models on one worker, with the master's CPU; the open model drops nothing at 100/s."""
    output = run_bench("scale_bench.py", "workers", "--smoke", timeout_s=90)
    rows = {tuple(line.split()[:2]): line.split() for line in output.splitlines()}
    closed, opened = rows[("closed", "1")], rows[("open", "1")]
    assert float(closed[2]) > 0 and opened[3] == "0", output  # requests/s; dropped
