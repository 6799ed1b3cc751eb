"""Tests for harness.metrics.recorder."""

from __future__ import annotations

import pytest

from harness.errors import InputError
from harness.metrics.histogram import decode
from harness.metrics.recorder import Recorder, bucket_of
from harness.results.model import Outcome
from harness.results.raw import MetricRow


def make(bucket_s: float = 1.0, clock=None) -> tuple[Recorder, list[MetricRow]]:
    rows: list[MetricRow] = []
    return Recorder(bucket_s, rows.extend, clock=clock), rows


def test_bucket_by_start_time_with_fractional_buckets() -> None:
    """Requests land in the bucket of their start time, also for 0.1 s buckets."""
    assert bucket_of(0.3, 0.1) == 3
    assert bucket_of(0.2999, 0.1) == 2
    assert bucket_of(-0.5, 1.0) == 0
    recorder, rows = make(0.1)
    recorder.record(t_s=0.3, endpoint="orders", outcome=Outcome.OK, latency_us=5_000_000)
    recorder.flush_all()
    assert [(r.bucket, r.count) for r in rows] == [(3, 1)]


def test_flush_emits_closed_buckets_only() -> None:
    """flush(t) emits buckets that ended by t and keeps the open one."""
    recorder, rows = make()
    for t in (0.1, 0.9, 1.5, 2.2):
        recorder.record(t_s=t, endpoint="chat", outcome=Outcome.OK, latency_us=1000)
    assert recorder.flush(2.0) == 2
    assert [(r.bucket, r.count) for r in rows] == [(0, 2), (1, 1)]
    assert recorder.open_buckets == 1


def test_row_contents() -> None:
    """A row carries count, histogram, corrected histogram and missing Retry-After count."""
    recorder, rows = make()
    recorder.record(
        t_s=0.5, endpoint="chat", outcome=Outcome.SHED, latency_us=1000, retry_after_missing=True
    )
    recorder.record(
        t_s=0.6, endpoint="chat", outcome=Outcome.SHED, latency_us=3000, intended_latency_us=9000
    )
    recorder.flush_all()
    (row,) = rows
    assert (row.count, row.retry_after_missing) == (2, 1)
    assert decode(row.hist).max_ms() == pytest.approx(3.0, rel=1e-3)
    corrected = decode(row.hist_corrected)
    assert corrected.count == 2 and corrected.max_ms() == pytest.approx(9.0, rel=1e-3)


def test_late_request_emits_a_second_row() -> None:
    """A request for an already flushed bucket is emitted again on the next flush."""
    recorder, rows = make()
    recorder.record(t_s=0.5, endpoint="orders", outcome=Outcome.OK, latency_us=1000)
    recorder.flush(1.0)
    recorder.record(t_s=0.7, endpoint="orders", outcome=Outcome.OK, latency_us=2000)
    recorder.flush(2.0)
    assert [(r.bucket, r.count) for r in rows] == [(0, 1), (0, 1)]


def test_memory_bounded_as_time_advances() -> None:
    """Flushing each second keeps at most two buckets open over a long run."""
    recorder, rows = make(0.25)
    most_open = 0
    for i in range(20_000):  # 2000 s at 10 rps
        t = i / 10
        recorder.record(t_s=t, endpoint=f"e{i % 3}", outcome=Outcome.OK, latency_us=1000)
        if i % 10 == 9:
            recorder.flush(t)
            most_open = max(most_open, recorder.open_buckets)
    assert most_open <= 2
    assert sum(r.count for r in rows) + 10 >= 20_000


def test_flush_without_cutoff_uses_clock() -> None:
    """flush() without a cut-off uses the injected clock; without one it explains the fix."""
    now = [0.0]
    recorder, rows = make(clock=lambda: now[0])
    recorder.record(t_s=0.5, endpoint="orders", outcome=Outcome.OK, latency_us=1000)
    assert recorder.flush() == 0
    now[0] = 1.0
    assert recorder.flush() == 1
    with pytest.raises(InputError, match="clock="):
        make()[0].flush()
