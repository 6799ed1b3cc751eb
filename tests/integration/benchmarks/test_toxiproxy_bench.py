"""The toxiserver benchmark runs end to end, side by side mode (--smoke; figures not judged)."""

from __future__ import annotations

from bench_run import run_bench


def test_smoke_measures_every_row_of_the_side_by_side_table() -> None:
    """Latency, the toxic tail, the rate with CPU, and throughput, for the embedded server."""
    output = run_bench("toxiproxy_bench.py", "--smoke", "--server", "embedded=embedded")
    for row in (
        "p50 RTT (us)",
        "100 ms toxic: median p99 (ms)",
        "rate, 10 conns (trips/s)",
        "proxy CPU per 1000 trips (ms)",
        "throughput (MB/s)",
    ):
        assert row in output, output
