"""``harness worker``: one Locust worker process of a distributed drill.

Needs only the scenario (locustfile) and the master's address: the drill's start
time, bucket size, outcome and write rules come from the master in a custom
message (:mod:`harness.load.protocol`). Requests are classified and recorded
exactly as in a local run (events kept raw and classified in batches every
``COLLECT_INTERVAL_S`` by :class:`RequestClassifier` into :class:`WorkerBatch`'s
Recorder; an exception in a task's own code is an error of the task, as in a
local run) and sent to the master with each Locust report, with the worker's own
event-loop lag and CPU (:class:`~harness.load.health.LoopMonitor`, a row per
bucket). At the stop it drains as a local run does
(:meth:`harness.load.engine.LoadEngine.stop`): no new request, those in flight
get up to ``drain_s``, the rest are recorded as errors, and only then are the
last rows (its own health rows included) sent.

Open model (``WorkerConfig.open_model``): the worker runs its own
:class:`~harness.load.users.ArrivalGate` at the share of the rate the master sends
(:data:`MSG_RATE`, a :class:`WorkerRate`); its users wait for its arrivals, each
request carries its arrival's lateness (corrected latency, as in-process), its
dropped arrivals become ``harness:dropped`` rows and every report carries its
cumulative issued and dropped arrivals. The process ends when
the master quits it, when the master stays silent for ``MASTER_SILENT_S``, or (for
workers the engine started) when its parent process is gone.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gevent
from locust import runners as locust_runners
from locust.env import Environment
from locust.runners import WorkerRunner

from harness.clock import DrillClock
from harness.errors import InfrastructureError
from harness.load.classify import RequestClassifier
from harness.load.dropped import DroppedArrivals
from harness.load.events import RequestEvents
from harness.load.health import LoopMonitor, freeze_heap
from harness.load.inflight import InFlight
from harness.load.protocol import (
    MSG_CONFIG,
    MSG_FINAL,
    MSG_HELLO,
    MSG_RATE,
    MSG_READY,
    MSG_STOP,
    REPORT_KEY,
    WORKER_REPORT_INTERVAL_S,
    WorkerBatch,
    WorkerConfig,
    WorkerRate,
)
from harness.load.scenario import load_user_classes
from harness.load.users import (
    ArrivalGate,
    collect_forever,
    drop_locust_request_stats,
    gated,
    record_cut_offs,
    task_error,
    track_requests,
    wait_for_in_flight,
)
from harness.results.raw import GeneratorRow, MetricRow

log = logging.getLogger(__name__)

MASTER_SILENT_S = 15  # Locust's default is 60 s
# how long Locust's worker keeps trying to reach its master before it gives up
CONNECT_RETRY_S = locust_runners.CONNECT_TIMEOUT * locust_runners.CONNECT_RETRY_COUNT
MAX_EARLY_EVENTS = 100_000  # requests seen before the configuration arrived, kept for it


class _Worker:
    def __init__(self) -> None:
        self.runner: WorkerRunner | None = None
        self.classifier: RequestClassifier | None = None
        self.batch: WorkerBatch | None = None
        self.early: list[dict[str, Any]] = []  # request events before the configuration
        self.events: RequestEvents | None = None  # after it: kept until collected
        self.in_flight = InFlight()
        self.monitor: LoopMonitor | None = None
        self.gate: ArrivalGate | None = None  # open model: this worker's share of the arrivals
        self.drops: DroppedArrivals | None = None
        self.rate: WorkerRate | None = None

    def on_early_request(self, **event: Any) -> None:
        """The request listener until the configuration arrives (nothing to classify with)."""
        if len(self.early) < MAX_EARLY_EVENTS:
            self.early.append(event)

    def collect(self) -> None:
        """Classify the request events kept since the last call into the batch."""
        if self.events is None or self.batch is None:
            return
        samples, writes = self.events.classify()
        if samples or writes:
            self.batch.add(samples, writes)

    def on_user_error(self, user_instance: Any, exception: BaseException, **_: Any) -> None:
        """A task's own code raised: an error of that task (lost before the configuration)."""
        if self.classifier is not None and self.batch is not None:
            self.batch.add([task_error(self.classifier, user_instance, exception)])

    def on_config(self, environment: Environment, msg: Any, **_: Any) -> None:
        config = WorkerConfig.model_validate(msg.data)
        if self.batch is not None and self.batch.config == config:  # said twice: once is enough
            assert self.runner is not None
            self.runner.send_message(MSG_READY, {"pid": os.getpid()})
            return
        self.classifier = RequestClassifier(
            config.outcomes, config.writes, DrillClock.started_at(config.t0_unix_s)
        )
        self.batch = WorkerBatch(config)
        if self.monitor is None:
            self.monitor = LoopMonitor(
                bucket_s=config.bucket_s,
                clock=self.classifier.clock.now_s,
                sink=self._add_health,
                process=f"worker-{os.getpid()}",
            )
            self.monitor.start()
        if config.open_model and self.gate is None:
            self.drops = DroppedArrivals(config.bucket_s, sink=self._add_rows)
            self.gate = ArrivalGate(max_backlog=0, on_drop=self._on_drop)
            self._apply_rate()
            self.gate.start()
        listeners = environment.events.request
        listeners.remove_listener(
            self.on_early_request if self.events is None else self.events.on_request
        )
        self.events = RequestEvents(self.classifier)
        listeners.add_listener(self.events.on_request)
        early, self.early = self.early, []
        for event in early:  # the requests that ended before the configuration arrived
            sample, write = self.classifier.classify(
                name=event["name"],
                response_time=event["response_time"],
                response=event.get("response"),
                context=event.get("context"),
                exception=event.get("exception"),
                start_time=event.get("start_time"),
            )
            self.batch.add([sample], [write] if write is not None else None)
        assert self.runner is not None
        self.runner.send_message(MSG_READY, {"pid": os.getpid()})

    def _add_health(self, row: GeneratorRow) -> None:
        if self.batch is not None:
            self.batch.add_health(row)

    def _add_rows(self, rows: list[MetricRow]) -> None:
        if self.batch is not None:
            self.batch.add_rows(rows)

    def _on_drop(self, intended_unix_s: float) -> None:
        if self.drops is not None and self.batch is not None:
            self.drops.record(intended_unix_s - self.batch.config.t0_unix_s)

    def on_rate(self, environment: Environment, msg: Any, **_: Any) -> None:
        """The master's new share of the open model's load for this worker."""
        self.rate = WorkerRate.model_validate(msg.data)
        self._apply_rate()

    def _apply_rate(self) -> None:
        if self.gate is not None and self.rate is not None:
            self.gate.max_backlog = self.rate.max_backlog
            self.gate.rate_per_s = self.rate.rate_per_s

    def _count_arrivals(self, now_s: float | None) -> None:
        """Open model: drops of ended buckets become rows; the batch gets the latest totals."""
        if self.gate is None or self.drops is None or self.batch is None:
            return
        if now_s is None:
            self.drops.flush_all()
        else:  # arrivals are issued in time order: ended buckets are whole
            self.drops.flush(now_s)
        self.batch.set_arrivals(self.gate.issued, self.gate.dropped)

    def on_report(self, client_id: str, data: dict[str, Any], **_: Any) -> None:
        if self.batch is not None:
            self.collect()
            now_s = time.time() - self.batch.config.t0_unix_s
            self._count_arrivals(now_s)
            data[REPORT_KEY] = self.batch.drain(now_s)

    def on_stop(self, environment: Environment, msg: Any, **_: Any) -> None:
        """Drain (no new request; those in flight finish or are cut off), then send the rest."""
        assert self.runner is not None
        if self.gate is not None:
            self.gate.stop()  # no new arrival
        self._count_arrivals(None)
        drain_s = self.batch.config.drain_s if self.batch is not None else 0.0
        try:
            wait_for_in_flight(self.in_flight, drain_s)
        finally:
            self.runner.stop()
        self.collect()  # the requests that ended during the drain
        if self.classifier is not None and self.batch is not None:
            record_cut_offs(self.in_flight, self.classifier, self.batch.add)
        if self.monitor is not None:
            self.monitor.stop()  # its last rows go with the final batch
        payload = self.batch.drain(None, final=True) if self.batch is not None else {}
        self.runner.send_message(MSG_FINAL, payload)


def _watch_parent(parent_pid: int) -> None:
    while True:
        if os.getppid() != parent_pid:
            log.warning("the harness that started this worker is gone; exiting")
            os._exit(3)
        gevent.sleep(0.5)


def run_worker(
    *,
    master_host: str,
    master_port: int,
    scenario: Path,
    user_classes: list[str],
    exit_with_parent: int | None = None,
    announce: Callable[[str], None] | None = None,
) -> None:
    """Connect to the master, run users as it says, and return when it quits this worker.

    ``announce`` hears where the worker connects and when it is connected: Locust
    retries a master it cannot reach for about five minutes without a word at the
    harness's log level, and a worker on another machine (or in a pod) should say what
    it waits for.
    """
    locust_runners.WORKER_REPORT_INTERVAL = WORKER_REPORT_INTERVAL_S
    locust_runners.MASTER_HEARTBEAT_TIMEOUT = MASTER_SILENT_S
    if exit_with_parent:
        gevent.spawn(_watch_parent, exit_with_parent)
    worker = _Worker()
    gevent.spawn(collect_forever, worker.collect)
    classes = [  # gated only once the master's configuration says open model
        gated(track_requests(c, worker.in_flight), lambda: worker.gate)
        for c in load_user_classes(scenario, user_classes)
    ]
    env = Environment(user_classes=classes, catch_exceptions=True)
    env.events.request.add_listener(worker.on_early_request)  # until the configuration
    env.events.user_error.add_listener(worker.on_user_error)
    env.events.report_to_master.add_listener(worker.on_report)
    freeze_heap()  # start-up's objects out of the collector's sight, before any load
    if announce is not None:
        announce(
            f"connecting to the harness master at {master_host}:{master_port} "
            f"(retrying for up to {CONNECT_RETRY_S:.0f} s)"
        )
    try:
        runner = env.create_worker_runner(master_host, master_port)
    except ConnectionError as exc:
        raise InfrastructureError(
            f"could not connect to the harness master at {master_host}:{master_port}: {exc}"
        ) from None
    if announce is not None:
        announce(f"connected to the harness master at {master_host}:{master_port}")
    worker.runner = runner
    drop_locust_request_stats(runner)  # the worker records every request itself
    runner.register_message(MSG_CONFIG, worker.on_config)
    runner.register_message(MSG_RATE, worker.on_rate)
    # concurrent: the drain may take seconds; the message loop keeps serving meanwhile
    runner.register_message(MSG_STOP, worker.on_stop, concurrent=True)
    runner.send_message(MSG_HELLO, {"pid": os.getpid()})
    runner.greenlet.join()
