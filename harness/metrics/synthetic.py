"""Synthetic request streams: MetricRows and stores built without clocks or sleeping (tests, examples)."""

from __future__ import annotations

from dataclasses import dataclass

from harness.metrics.recorder import Recorder
from harness.metrics.store import MetricStore
from harness.results.model import Outcome
from harness.results.raw import MetricRow


@dataclass(frozen=True)
class Seg:
    """Requests at a steady rate on one endpoint with one outcome and latency."""

    start_s: float
    end_s: float
    endpoint: str
    outcome: Outcome
    rps: float
    latency_ms: float = 50.0
    retry_after_missing: bool = False


def rows_for(segments: list[Seg], bucket_s: float) -> list[MetricRow]:
    """Rows a Recorder emits for evenly spaced requests of every segment."""
    rows: list[MetricRow] = []
    recorder = Recorder(bucket_s, rows.extend)
    for seg in segments:
        n = round((seg.end_s - seg.start_s) * seg.rps)
        for i in range(n):
            recorder.record(
                t_s=seg.start_s + (i + 0.5) / seg.rps,
                endpoint=seg.endpoint,
                outcome=seg.outcome,
                latency_us=int(seg.latency_ms * 1000),
                retry_after_missing=seg.retry_after_missing,
            )
    recorder.flush_all()
    return rows


def store_for(segments: list[Seg], bucket_s: float = 1.0) -> MetricStore:
    """A MetricStore holding the segments."""
    return MetricStore.from_rows(rows_for(segments, bucket_s), bucket_s)
