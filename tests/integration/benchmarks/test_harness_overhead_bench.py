"""The harness-overhead benchmark runs end to end (--smoke; the figures are not judged)."""

from __future__ import annotations

import pytest
from bench_run import run_bench

pytestmark = pytest.mark.slow


def test_smoke_runs_bare_locust_the_listener_path_and_a_real_drill() -> None:
    """Every configuration measured; the listener path recorded every request it was sent."""
    output = run_bench("harness_overhead_bench.py", "--smoke")
    rows = {line.split()[0]: line.split() for line in output.splitlines() if line[:1].isalpha()}
    for config in ("bare", "harness", "drill"):
        assert config in rows and rows[config][-1] == "0", output  # no failures
    assert "(all recorded)" in output and "MISMATCH" not in output, output
    assert "collect" in output and "us/event" in output  # the batch was timed alone too
