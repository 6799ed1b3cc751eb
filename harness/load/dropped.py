"""Open model: dropped arrivals as metric rows, so checks and the verdict see them.

Locust-free on purpose (unit tests use it directly). An arrival that finds every
user busy and the backlog full is never sent. It still is a customer who got no
answer: it is counted in the bucket of its *intended* time as a row of the
endpoint :data:`~harness.results.raw.DROPPED_ENDPOINT` (``harness:dropped``),
outcome ``error``, error kind ``harness: dropped``, with an empty latency histogram.
So error ratio, availability, failover and recovery count it, while latency
percentiles are unaffected.
Drops are known when they happen, so a bucket's row is written as soon as the
bucket has ended (one row per bucket with drops).
"""

from __future__ import annotations

from collections.abc import Callable

from harness.metrics.histogram import encode_values
from harness.metrics.recorder import bucket_of
from harness.results.model import Outcome
from harness.results.raw import DROPPED_ENDPOINT, DROPPED_KIND, MetricRow

__all__ = ["DROPPED_ENDPOINT", "DroppedArrivals"]


class DroppedArrivals:
    """Counts dropped arrivals per bucket of their intended time and emits them as rows."""

    def __init__(self, bucket_s: float, sink: Callable[[list[MetricRow]], None]) -> None:
        self.bucket_s = float(bucket_s)
        self._sink = sink
        self._pending: dict[int, int] = {}
        self._empty_hist = encode_values([])
        self.total = 0

    def record(self, t_s: float, count: int = 1) -> None:
        """``count`` arrivals scheduled at ``t_s`` (seconds from drill start) were dropped."""
        b = bucket_of(t_s, self.bucket_s)
        self._pending[b] = self._pending.get(b, 0) + count
        self.total += count

    def flush(self, older_than_t_s: float) -> int:
        """Emit rows for buckets that ended at or before ``older_than_t_s``; return the row count."""
        last_closed = bucket_of(older_than_t_s, self.bucket_s) - 1
        return self._emit([b for b in self._pending if b <= last_closed])

    def flush_all(self) -> int:
        """Emit every row still held (end of the drill)."""
        return self._emit(list(self._pending))

    def _emit(self, buckets: list[int]) -> int:
        if not buckets:
            return 0
        rows = []
        for b in sorted(buckets):
            count = self._pending.pop(b)
            rows.append(
                MetricRow(
                    bucket=b,
                    endpoint=DROPPED_ENDPOINT,
                    outcome=Outcome.ERROR,
                    count=count,
                    hist=self._empty_hist,
                    errors={DROPPED_KIND: count},
                )
            )
        self._sink(rows)
        return len(rows)
