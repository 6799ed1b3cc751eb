"""Benchmark of harness.metrics: recorder cost per call, store loading, memory for long runs.

Run: ``.venv/bin/python benchmarks/metrics_bench.py`` (about a minute). Prints one table;
the figures are copied into docs/benchmarks/metrics.md.
"""

from __future__ import annotations

import gc
import random
import tempfile
import time
import tracemalloc
from pathlib import Path

from harness.metrics import MetricStore, PhaseSpan, Recorder, phase_summary, time_series
from harness.results.model import Outcome
from harness.results.raw import MetricRow

ENDPOINTS = [f"endpoint{i}" for i in range(6)]
OUTCOMES = [Outcome.OK] * 17 + [Outcome.FALLBACK, Outcome.ERROR, Outcome.SHED]


def requests(n: int, rps: float, seed: int = 7) -> list[tuple[float, str, Outcome, int]]:
    rng = random.Random(seed)
    return [
        (i / rps, rng.choice(ENDPOINTS), rng.choice(OUTCOMES), int(rng.lognormvariate(11, 0.6)))
        for i in range(n)
    ]


def per_call_ns() -> tuple[float, float]:
    """(recorder ns per record(), bare list.append ns per call) on the same arguments."""
    reqs = requests(200_000, 200.0)
    recorder = Recorder(1.0, lambda rows: None)
    record = recorder.record
    start = time.perf_counter_ns()
    for t, endpoint, outcome, latency in reqs:
        record(t_s=t, endpoint=endpoint, outcome=outcome, latency_us=latency)
    recorder_ns = (time.perf_counter_ns() - start) / len(reqs)
    sink: list = []
    append = sink.append
    start = time.perf_counter_ns()
    for _t, _endpoint, _outcome, latency in reqs:
        append(latency)
    return recorder_ns, (time.perf_counter_ns() - start) / len(reqs)


def simulate(duration_s: int, rps: int, rows: list[MetricRow] | None) -> tuple[int, float]:
    """Record a run, flushing every second; (tracemalloc peak bytes, seconds taken)."""
    rng = random.Random(3)
    sink = rows.extend if rows is not None else (lambda batch: None)
    gc.collect()
    tracemalloc.start()
    started = time.perf_counter()
    recorder = Recorder(1.0, sink)
    for second in range(duration_s):
        for i in range(rps):
            recorder.record(
                t_s=second + i / rps,
                endpoint=ENDPOINTS[i % 6],
                outcome=OUTCOMES[rng.randrange(20)],
                latency_us=int(rng.lognormvariate(11, 0.6)),
            )
        recorder.flush(second + 1 - 0.5)  # the previous bucket closes half a second late
    recorder.flush_all()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak, time.perf_counter() - started


def main() -> None:
    recorder_ns, append_ns = per_call_ns()
    peak_1m, _ = simulate(60, 200, None)
    peak_1h, took_1h = simulate(3600, 200, None)
    rows: list[MetricRow] = []
    simulate(3600, 200, rows)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "metrics.jsonl"
        path.write_text("".join(r.model_dump_json() + "\n" for r in rows))
        size_mb = path.stat().st_size / 1e6
        start = time.perf_counter()
        store = MetricStore.from_jsonl(path, 1.0)
        load_s = time.perf_counter() - start
    start = time.perf_counter()
    MetricStore.from_rows(rows, 1.0)
    from_rows_s = time.perf_counter() - start
    store_rows = rows
    del store
    gc.collect()
    tracemalloc.start()
    store = MetricStore.from_rows(iter(store_rows), 1.0)
    del store_rows, rows
    store_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    start = time.perf_counter()
    phase_summary(store, PhaseSpan("hour", 0, 3600))
    summary_s = time.perf_counter() - start
    start = time.perf_counter()
    time_series(store)
    series_s = time.perf_counter() - start

    table = [
        ("recorder.record() per call", f"{recorder_ns:.0f} ns"),
        ("bare list.append per call", f"{append_ns:.0f} ns"),
        ("ratio record / append", f"{recorder_ns / append_ns:.1f}x"),
        ("rows in a 1 h run (200 rps, 6 endpoints, 1 s)", f"{store.rows_loaded}"),
        ("metrics.jsonl size for 1 h", f"{size_mb:.1f} MB"),
        ("store load from jsonl", f"{store.rows_loaded / load_s:,.0f} rows/s"),
        ("store load from MetricRow objects", f"{store.rows_loaded / from_rows_s:,.0f} rows/s"),
        ("store memory for 1 h (tracemalloc peak)", f"{store_peak / 1e6:.1f} MB"),
        ("phase summary over 1 h", f"{summary_s:.2f} s"),
        ("time series over 1 h (3600 buckets)", f"{series_s:.2f} s"),
        ("recorder peak, 1 min run", f"{peak_1m / 1e3:.0f} kB"),
        ("recorder peak, 1 h run", f"{peak_1h / 1e3:.0f} kB"),
        ("ratio 1 h / 1 min (bounded: ~1, not 60)", f"{peak_1h / peak_1m:.2f}x"),
        ("recording + flushing 1 h (720k requests)", f"{took_1h:.1f} s (tracemalloc on)"),
    ]
    width = max(len(k) for k, _ in table)
    print(f"{'measure':<{width}}  value")
    print(f"{'-' * width}  -----")
    for key, value in table:
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main()
