"""The load process watching itself: how late its event loop wakes, how busy its CPU is.

A tail latency is the target's only if the process that timed it was not the
bottleneck. Locust users share one gevent loop: a greenlet that holds it (a busy
scenario, parsing a large answer, a long GC pause) delays every other greenlet, so
answers that arrived meanwhile are timed late; and a process near 100 % of a core
cannot keep up with its users at all (Locust warns above 90 % CPU, k6 counts
dropped iterations).

:class:`LoopMonitor` runs as one greenlet in a load process (the drill's own
process, and each Locust worker). Every ``interval_s`` it sleeps and measures how
much later than asked it woke up: the **event-loop lag**. Per time bucket it keeps
the worst and the mean lag and the process's **CPU** time over wall time (a share
of one core; every thread of the process counts), and when a wake-up falls in a
later bucket it hands one :class:`~harness.results.raw.GeneratorRow` for the
finished bucket to its sink.

Cost: a sample is two monotonic clock reads, one CPU-time read, one drill-clock
read and a few additions; a row is built once per bucket (four a second at 0.25 s
buckets) and handed over. The monitor does no other work and no I/O itself, and
it never blocks the loop: its only wait is ``gevent.sleep``.

Attribution: a stall is counted in the bucket where the loop woke from it; a
bucket the loop slept through entirely (a stall longer than a bucket) gets no row.
A bucket's CPU covers the wall time from the previous bucket's last wake-up to its
own last one, so consecutive rows cover the run without gaps or overlaps.

Clocks and the sleep are injectable: unit tests drive :meth:`LoopMonitor.sample`
with their own clocks; gevent is imported only by :meth:`LoopMonitor.start`.

:func:`freeze_heap` keeps the collector from stalling the loop: each load process
calls it just before its load starts.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable
from typing import Any

from harness.metrics.recorder import bucket_of
from harness.results.raw import GeneratorRow

log = logging.getLogger(__name__)

SAMPLE_INTERVAL_S = 0.05  # how often the loop's lag is sampled: 20 wake-ups a second

HealthSink = Callable[[GeneratorRow], None]


class LoopMonitor:
    """Samples the event loop's lag and the process's CPU; one row per bucket to ``sink``.

    ``clock`` returns seconds from drill start (it picks the bucket); ``timer`` and
    ``cpu_timer`` default to :func:`time.perf_counter` and :func:`time.process_time`;
    ``sleep`` defaults to :func:`gevent.sleep`.
    """

    def __init__(
        self,
        *,
        bucket_s: float,
        clock: Callable[[], float],
        sink: HealthSink,
        process: str = "harness",
        interval_s: float = SAMPLE_INTERVAL_S,
        sleep: Callable[[float], Any] | None = None,
        timer: Callable[[], float] = time.perf_counter,
        cpu_timer: Callable[[], float] = time.process_time,
    ) -> None:
        self.bucket_s = bucket_s
        self.process = process
        self.interval_s = interval_s
        self._clock = clock
        self._sink = sink
        self._sleep = sleep
        self._timer = timer
        self._cpu_timer = cpu_timer
        self._greenlet: Any = None
        self._bucket: int | None = None
        self._samples = 0
        self._lag_sum_s = 0.0
        self._lag_max_s = 0.0
        self._mark_wall = self._last_wall = timer()  # where the current bucket's CPU span starts
        self._mark_cpu = self._last_cpu = cpu_timer()
        self._sink_failed = False

    def start(self) -> None:
        """Start sampling in a greenlet of the current gevent loop (drill time should be running)."""
        import gevent

        if self._sleep is None:
            self._sleep = gevent.sleep
        self._mark_wall = self._last_wall = self._timer()
        self._mark_cpu = self._last_cpu = self._cpu_timer()
        self._greenlet = gevent.spawn(self._run)

    def stop(self) -> None:
        """Stop sampling and hand over the bucket in progress; safe to call twice."""
        greenlet, self._greenlet = self._greenlet, None
        if greenlet is not None:
            greenlet.kill(block=True, timeout=1.0)
        self._emit()

    def _run(self) -> None:
        interval, sleep, timer = self.interval_s, self._sleep, self._timer
        assert sleep is not None
        while True:
            before = timer()
            sleep(interval)
            woke = timer()
            self.sample(woke - before - interval, woke)

    def sample(self, lag_s: float, woke: float) -> None:
        """Count one wake-up ``lag_s`` late at ``woke`` (``timer`` time); emit a finished bucket."""
        bucket = bucket_of(self._clock(), self.bucket_s)
        if bucket != self._bucket:
            self._emit()
            self._bucket = bucket
        lag_s = lag_s if lag_s > 0.0 else 0.0  # timers may fire a hair early
        self._samples += 1
        self._lag_sum_s += lag_s
        if lag_s > self._lag_max_s:
            self._lag_max_s = lag_s
        self._last_wall = woke
        self._last_cpu = self._cpu_timer()

    def _emit(self) -> None:
        if self._bucket is None or not self._samples:
            return
        wall_s = self._last_wall - self._mark_wall
        cpu_s = self._last_cpu - self._mark_cpu
        row = GeneratorRow(
            bucket=self._bucket,
            process=self.process,
            samples=self._samples,
            lag_max_ms=round(self._lag_max_s * 1000, 3),
            lag_mean_ms=round(self._lag_sum_s / self._samples * 1000, 3),
            cpu_percent=round(cpu_s / wall_s * 100, 1) if wall_s > 0 else 0.0,
        )
        self._samples, self._lag_sum_s, self._lag_max_s = 0, 0.0, 0.0
        self._mark_wall, self._mark_cpu = self._last_wall, self._last_cpu
        try:
            self._sink(row)
        except Exception as exc:  # the monitor must never take the load down with it
            if not self._sink_failed:
                self._sink_failed = True
                log.warning("load-generator health rows are being lost: %s", exc)


def freeze_heap() -> None:
    """Collect once, then hide every object that exists now from the garbage collector.

    Called by each load process just before its load starts (the drill process before
    t = 0, a worker before it connects). What start-up made (Locust, gevent, pydantic,
    httpx, the drill's plan: ~80k objects) lives as long as the process; a full
    collection walked all of it, 60-120 ms measured here, and under load a collection
    in the middle of a drill stalled the event loop for up to ~290 ms (every user waits,
    arrivals are dropped: docs/benchmarks/scale.md). Frozen, a full collection walks only
    what the drill itself made. ``gc.unfreeze()`` gives the objects back.
    """
    gc.collect()
    gc.freeze()
