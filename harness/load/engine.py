"""Driving Locust as a library: the drill runner's one handle on the load.

:class:`LoadEngine` is a thin facade: it picks the driver for the drill's ``load``
(:func:`harness.load.drivers.make_driver`: local closed, local open, or distributed
over Locust workers, one class per mode as Locust has one Runner per mode),
delegates :meth:`~LoadEngine.start`, :meth:`~LoadEngine.set_level`,
:meth:`~LoadEngine.stop`, :attr:`~LoadEngine.user_count` and
:attr:`~LoadEngine.arrival_totals` to it, and owns the load process's health
monitor (:class:`~harness.load.health.LoopMonitor`: event-loop lag and CPU per
bucket, from :meth:`~LoadEngine.start` to the end of :meth:`~LoadEngine.stop`).

Locally every Locust request event becomes one :class:`RequestSample` for the drill
runner's recorder and live view (acknowledged writes recognised; an exception in a
task's own code is an error sample of that task). The listener only keeps the raw
event; the runner calls :meth:`LoadEngine.collect` every tick to classify what has
ended since (:mod:`harness.load.events`), and :meth:`LoadEngine.stop` collects the
rest. With workers, the workers do
that and the master hands their rows, writes and live samples to ``on_rows``,
``on_write`` and ``on_live``; a worker lost mid-drill is told to ``on_lost``.

Closed model: the level is a number of users. Open model: the level is arrivals a
second, issued on a fixed schedule by an :class:`ArrivalGate` (one per load
process: with workers each runs its share of the rate); late arrivals wait in a
bounded backlog, their latency is also recorded from their *intended* time
(corrected for coordinated omission), and arrivals that find the backlog full are
dropped: counted, and recorded as rows of ``harness:dropped``
(:mod:`harness.load.dropped`).

The end of a drill is graceful (:meth:`LoadEngine.stop`): no new arrival and no
new request; requests in flight (:mod:`harness.load.inflight`, registered when
they start by :func:`track_requests`) get up to ``load.drain_s`` to finish and
are recorded as usual; those still open then are recorded as errors in the
bucket they started in; then the users are killed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from locust import User
from locust.env import Environment
from locust.runners import Runner

from harness.load.classify import RequestClassifier, RequestSample
from harness.load.drivers import (
    LiveSink,
    LoadDriver,
    LoadSinks,
    LostSink,
    RowsSink,
    SamplesSink,
    WriteSink,
    make_driver,
)
from harness.load.health import HealthSink, LoopMonitor
from harness.load.spec import LoadSpec
from harness.load.users import ArrivalGate, task_error, track_requests, wait_for_in_flight
from harness.metrics.generator import MASTER

__all__ = [
    "ArrivalGate",
    "LoadEngine",
    "RequestClassifier",
    "RequestSample",
    "task_error",
    "track_requests",
    "wait_for_in_flight",
]


class LoadEngine:
    """Runs a scenario's users against a target, at a level set from outside.

    ``on_samples`` gets every request of a local run, in batches (:meth:`collect`). With ``spec.workers > 0`` the
    workers record; the master passes their closed buckets to ``on_rows``, their
    writes to ``on_write`` and one live sample per request to ``on_live``
    (``t_s, outcome, latency_ms``, filed ``LIVE_LAG_S`` late so that a second is
    complete before abort conditions judge it), and ``on_lost`` hears, once per
    worker, that one was lost mid-drill.
    """

    def __init__(
        self,
        spec: LoadSpec,
        user_classes: list[type[User]],
        *,
        target_url: str,
        classifier: RequestClassifier,
        on_samples: SamplesSink,
        on_write: WriteSink,
        on_rows: RowsSink | None = None,
        on_live: LiveSink | None = None,
        scenario_path: Path | None = None,
        bucket_s: float = 0.25,
        on_health: HealthSink | None = None,
        on_lost: LostSink | None = None,
    ) -> None:
        self.spec = spec
        self.classifier = classifier
        self._started = False
        self._stopped = False
        self.monitor: LoopMonitor | None = None  # this process's own lag and CPU
        if on_health is not None:
            self.monitor = LoopMonitor(
                bucket_s=bucket_s,
                clock=classifier.clock.now_s,
                sink=on_health,
                process=MASTER if spec.workers > 0 else "harness",
            )
        self.driver: LoadDriver = make_driver(
            spec,
            user_classes,
            target_url=target_url,
            classifier=classifier,
            sinks=LoadSinks(on_samples, on_write, on_rows, on_live, on_health, on_lost),
            bucket_s=bucket_s,
            scenario_path=scenario_path,
        )

    @property
    def env(self) -> Environment:
        return self.driver.env

    @property
    def runner(self) -> Runner | None:
        return self.driver.runner

    @property
    def _on_request(self) -> Any:
        """The local driver's request listener (benchmarks/harness_overhead_bench.py times it)."""
        return self.driver.on_request  # type: ignore[attr-defined]

    def collect(self) -> None:
        """Hand the requests that ended since the last call to ``on_samples`` (every tick)."""
        self.driver.collect()

    def start(self) -> None:
        """Drill time starts now: no users yet (closed) or all users waiting for arrivals (open)."""
        if self.monitor is not None:
            self.monitor.start()
        self._started = True
        self.driver.start()

    def set_level(self, level: float) -> None:
        """Users (closed model) or arrivals a second (open model) from now on."""
        if not self._started or self._stopped:
            raise RuntimeError("LoadEngine.set_level() before start(); call start() first")
        self.driver.set_level(level)

    @property
    def arrival_totals(self) -> dict[str, Any]:
        """Open model: arrivals issued and dropped so far (with workers, per worker too); {} otherwise."""
        return self.driver.arrival_totals

    @property
    def user_count(self) -> int:
        return self.driver.user_count

    def stop(self) -> None:
        """End the load gracefully (see the module docs); safe to call twice.

        No new arrival and no new request; requests in flight get up to
        ``load.drain_s`` to finish; those still open then are recorded as errors
        (through ``on_samples``) in the bucket they started in; then every user is
        killed. With workers, each worker does the same and sends its last rows.
        The health monitor stops last, after the drain.
        """
        if self._stopped:
            return
        self._stopped = True
        try:
            self.driver.stop()
        finally:
            if self.monitor is not None:
                self.monitor.stop()
