"""The load-accuracy benchmark runs end to end (tiny durations; the figures are not judged)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bench_run import run_bench

pytestmark = pytest.mark.slow


def test_smoke_run_measures_every_client_against_both_servers_and_prints_the_table(
    tmp_path: Path,
) -> None:
    """--smoke: k6, a drill and a drill with the old probe, per server; table and ratios printed."""
    records_path = tmp_path / "records.json"
    output = run_bench("load_accuracy_bench.py", "--smoke", "--json", str(records_path))
    assert "compared with k6 in the same round" in output
    for label in ("50 ms server @ 20/s", "trivial server @ 100/s", "harness+old-probe"):
        assert label in output
    records = json.loads(records_path.read_text(encoding="utf-8"))
    clients = {(r["server"], r["client"]) for r in records}
    assert clients == {
        (server, client)
        for server in ("slow", "trivial")
        for client in ("k6", "harness", "harness+old-probe")
    }
    for record in records:
        assert record["requests"] > 0 and record["errors"] == 0, record
        if record["server"] == "slow":  # the server's own service time is the fixed 50 ms
            assert record["server_p99_ms"] >= 50, record
    old_probe = [r for r in records if r["client"] == "harness+old-probe"]
    assert all(r["probe_ms"] is not None for r in old_probe)  # the old probe really ran
