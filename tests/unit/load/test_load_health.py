"""The load generator's own health monitor: lag and CPU per bucket, against ground truth.

The first tests drive :meth:`LoopMonitor.sample` with clocks the test sets. The last
ones run the monitor in a real gevent loop (gevent's hub, no monkey-patching, no
Locust) next to a greenlet that holds the loop for a known time: the measured lag
must be that time, and an idle loop must show almost none. They take about 1.5 s.
"""

from __future__ import annotations

import sys
import time

import pytest

from harness.load.health import LoopMonitor
from harness.results.raw import GeneratorRow


class Clocks:
    """Drill time, wall time and CPU time, moved by the test."""

    def __init__(self) -> None:
        self.drill_s = 0.0
        self.wall_s = 100.0
        self.cpu_s = 5.0

    def advance(self, wall_s: float, cpu_s: float) -> None:
        self.drill_s += wall_s
        self.wall_s += wall_s
        self.cpu_s += cpu_s


def monitor(clocks: Clocks, rows: list[GeneratorRow], **kwargs) -> LoopMonitor:
    return LoopMonitor(
        bucket_s=0.25,
        clock=lambda: clocks.drill_s,
        sink=rows.append,
        timer=lambda: clocks.wall_s,
        cpu_timer=lambda: clocks.cpu_s,
        **kwargs,
    )


def wake(mon: LoopMonitor, clocks: Clocks, lag_s: float, busy: float = 0.1) -> None:
    """One 50 ms sleep that woke ``lag_s`` late, the process busy ``busy`` of the time."""
    step = 0.05 + lag_s
    clocks.advance(step, step * busy)
    mon.sample(lag_s, clocks.wall_s)


def test_module_does_not_import_locust() -> None:
    """The monitor is usable (and tested) without Locust's monkey-patching."""
    assert "locust" not in sys.modules


def test_one_row_per_bucket_with_worst_and_mean_lag() -> None:
    """Wake-ups are grouped by drill bucket; a row is handed over when a later bucket starts."""
    clocks, rows = Clocks(), []
    mon = monitor(clocks, rows)
    for lag in (0.001, 0.003, 0.002):  # bucket 0 (t = 0.051 .. 0.159)
        wake(mon, clocks, lag)
    assert rows == []  # the bucket is still open
    wake(mon, clocks, 0.120)  # t = 0.329: bucket 1
    assert len(rows) == 1
    row = rows[0]
    assert (row.bucket, row.process, row.samples) == (0, "harness", 3)
    assert row.lag_max_ms == pytest.approx(3.0)
    assert row.lag_mean_ms == pytest.approx(2.0)
    mon.stop()  # hands over the bucket in progress
    assert [(r.bucket, r.samples, r.lag_max_ms) for r in rows] == [(0, 3, 1.0 * 3), (1, 1, 120.0)]


def test_cpu_is_process_time_over_wall_time_between_wake_ups() -> None:
    """A bucket's CPU covers the wall time since the previous bucket's last wake-up."""
    clocks, rows = Clocks(), []
    mon = monitor(clocks, rows)
    for _ in range(4):
        wake(mon, clocks, 0.0, busy=0.2)  # 20 % of one core, t = 0.05 .. 0.2
    for _ in range(5):
        wake(mon, clocks, 0.0, busy=0.95)  # 95 %, t = 0.25 .. 0.45
    mon.stop()
    assert [r.bucket for r in rows] == [0, 1]
    assert rows[0].cpu_percent == pytest.approx(20.0)
    assert rows[1].cpu_percent == pytest.approx(95.0)


def test_early_wake_up_counts_as_no_lag_and_stop_is_idempotent() -> None:
    """A timer firing a hair early is 0 lag, not negative; stopping twice emits nothing new."""
    clocks, rows = Clocks(), []
    mon = monitor(clocks, rows, process="worker-7")
    wake(mon, clocks, -0.0002)
    mon.stop()
    mon.stop()
    assert len(rows) == 1 and rows[0].lag_max_ms == 0.0 and rows[0].process == "worker-7"


def test_a_failing_sink_never_breaks_the_monitor(caplog: pytest.LogCaptureFixture) -> None:
    """Rows the sink cannot take are lost (logged once); sampling goes on."""

    def broken(row: GeneratorRow) -> None:
        raise OSError("disk full")

    clocks = Clocks()
    mon = LoopMonitor(
        bucket_s=0.25,
        clock=lambda: clocks.drill_s,
        sink=broken,
        timer=lambda: clocks.wall_s,
        cpu_timer=lambda: clocks.cpu_s,
    )
    for _ in range(12):  # three buckets
        wake(mon, clocks, 0.0)
    mon.stop()
    assert [r.message for r in caplog.records].count(
        "load-generator health rows are being lost: disk full"
    ) == 1


# -- ground truth in a real gevent loop ------------------------------------------------


def run_real(
    duration_s: float,
    interval_s: float,
    busy: tuple[float, float, str] | None = None,
    spent: dict[str, float] | None = None,
) -> list[GeneratorRow]:
    """Run a monitor for ``duration_s``; ``busy`` = (at_s, for_s, how) keeps the process busy.

    ``how``: "sleep" blocks the loop for ``for_s`` at once (an unpatched ``time.sleep``);
    "spin" burns CPU in 50 ms slices, yielding between them, for ``for_s``, and puts the
    share of one core it really got (CPU time over wall time) into ``spent["share"]``.
    """
    import gevent

    rows: list[GeneratorRow] = []
    t0 = time.monotonic()
    mon = LoopMonitor(
        bucket_s=0.25, clock=lambda: time.monotonic() - t0, sink=rows.append, interval_s=interval_s
    )

    def hold(at_s: float, for_s: float, how: str) -> None:
        gevent.sleep(at_s)
        if how == "sleep":
            time.sleep(for_s)  # not monkey-patched: blocks the whole loop
            return
        wall0, cpu0 = time.perf_counter(), time.process_time()
        end = wall0 + for_s
        while time.perf_counter() < end:
            stop = min(time.perf_counter() + 0.05, end)
            while time.perf_counter() < stop:
                pass
            gevent.sleep(0.001)  # sleep(0) would not let timers run
        if spent is not None:
            spent["share"] = (time.process_time() - cpu0) / (time.perf_counter() - wall0)

    mon.start()
    holder = gevent.spawn(hold, *busy) if busy else None
    try:
        gevent.sleep(duration_s)
    finally:
        if holder is not None:
            holder.kill()
        mon.stop()
    return rows


def test_a_loop_blocked_for_200_ms_shows_about_200_ms_of_lag() -> None:
    """A greenlet that blocks the loop 200 ms: the worst lag is 200 ms less at most one interval."""
    rows = run_real(0.7, interval_s=0.01, busy=(0.2, 0.2, "sleep"))
    worst = max(r.lag_max_ms for r in rows)
    assert 190 <= worst <= 350, rows  # above 250 only when the machine starves the process
    assert sum(r.lag_max_ms >= 150 for r in rows) == 1  # counted once, where the loop woke


def test_an_idle_loop_shows_almost_no_lag_and_cpu() -> None:
    """Nothing else running: every wake-up is within a few ms, CPU far below the bound."""
    rows = run_real(0.5, interval_s=0.05)
    assert rows and sum(r.samples for r in rows) >= 7
    assert max(r.lag_max_ms for r in rows) < 40, rows
    assert max(r.cpu_percent for r in rows) < 50, rows


def test_a_busy_loop_shows_its_cpu() -> None:
    """A greenlet burning CPU from 0.25 s to 1 s: those buckets show the CPU it really got.

    On an idle machine that is nearly one core; on a busy shared one, what the scheduler
    gave the process, which the spinner measures itself.
    """
    spent: dict[str, float] = {}
    rows = run_real(1.25, interval_s=0.05, busy=(0.25, 0.75, "spin"), spent=spent)
    share = spent["share"] * 100
    by_bucket = {r.bucket: r for r in rows}
    busy = [by_bucket[b].cpu_percent for b in (2, 3) if b in by_bucket]
    # the spinner's share is over the whole burn: compare the buckets' mean (one bucket
    # alone swung 46 -> 88 % around a 59 % share on a saturated machine)
    assert busy and abs(sum(busy) / len(busy) - share) < 20, (share, rows)
    assert by_bucket[0].cpu_percent < min(busy) / 2, rows  # before it: idle
    # it yields every 50 ms: the loop is late by about one slice, not by the whole burn
    assert 20 <= max(r.lag_max_ms for r in rows) < 150, rows


# -- from a worker to the master -------------------------------------------------------


def test_worker_health_rows_travel_with_its_batch() -> None:
    """A worker's rows go out with its next report, once; an older worker's payload has none."""
    from harness.load.outcome import OutcomeRules
    from harness.load.protocol import WorkerBatch, WorkerConfig, decode_health

    batch = WorkerBatch(
        WorkerConfig(t0_unix_s=0.0, bucket_s=0.25, outcomes=OutcomeRules(), writes=[])
    )
    rows = [
        GeneratorRow(
            bucket=b,
            process="worker-42",
            samples=5,
            lag_max_ms=2.0,
            lag_mean_ms=1.0,
            cpu_percent=40.0,
        )
        for b in (0, 1)
    ]
    for r in rows:
        batch.add_health(r)
    payload = batch.drain(now_s=1.0)
    assert decode_health(payload) == rows
    assert decode_health(batch.drain(None, final=True)) == []
    assert decode_health({"rows": [], "writes": [], "live": []}) == []
