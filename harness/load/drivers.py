"""One load driver per mode, behind one interface: how the load is generated.

As Locust keeps one Runner class per mode, the harness keeps one driver per way of
running a drill's load; :func:`make_driver` picks it from the drill's ``load``:

| driver | ``load`` | the level is | who records |
|---|---|---|---|
| :class:`LocalClosedDriver` | ``workers: 0``, ``model: closed`` | users | this process |
| :class:`LocalOpenDriver` | ``workers: 0``, ``model: open`` | arrivals a second | this process |
| :class:`DistributedDriver` | ``workers > 0``, either model | users, or arrivals a second split over the workers | the workers |

Every driver does the same six things (:class:`LoadDriver`): :meth:`~LoadDriver.start`
at drill t = 0, :meth:`~LoadDriver.set_level` and :meth:`~LoadDriver.collect` every
tick, :meth:`~LoadDriver.stop` (graceful: no new request, those in flight drained or
recorded as cut off), :attr:`~LoadDriver.user_count` and
:attr:`~LoadDriver.arrival_totals` (open model: arrivals issued and dropped, for the
journal). The data goes to one :class:`LoadSinks`. The local drivers keep Locust's
request events raw (:mod:`harness.load.events`) and classify them when collected.
"""

from __future__ import annotations

import inspect
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gevent
from locust import User
from locust.env import Environment
from locust.runners import Runner

from harness.errors import InputError
from harness.load.classify import RequestClassifier, RequestSample
from harness.load.dropped import DroppedArrivals
from harness.load.events import RequestEvents
from harness.load.health import HealthSink
from harness.load.inflight import InFlight
from harness.load.spec import LoadModel, LoadSpec
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
from harness.results.model import Outcome
from harness.results.raw import AckedWrite, MetricRow

__all__ = [
    "DistributedDriver",
    "LoadDriver",
    "LoadSinks",
    "LocalClosedDriver",
    "LocalOpenDriver",
    "make_driver",
]

SamplesSink = Callable[[list[RequestSample]], None]
WriteSink = Callable[[AckedWrite], None]
RowsSink = Callable[[list[MetricRow]], None]
LiveSink = Callable[[float, Outcome, float | None], None]
LostSink = Callable[[str], None]


@dataclass(frozen=True)
class LoadSinks:
    """Where a driver's data goes.

    ``on_samples``: the requests classified in this process, a batch at a time; ``on_write``: every
    acknowledged write; ``on_rows``: closed metric rows made elsewhere (workers'
    buckets, dropped arrivals); ``on_live``: one live sample per worker request;
    ``on_health``: the workers' own lag and CPU rows; ``on_lost``: a sentence when a
    worker is lost mid-drill (the run cannot be judged).
    """

    on_samples: SamplesSink
    on_write: WriteSink
    on_rows: RowsSink | None = None
    on_live: LiveSink | None = None
    on_health: HealthSink | None = None
    on_lost: LostSink | None = None


class LoadDriver(ABC):
    """Generates a drill's load at a level set from outside (see the module docs)."""

    env: Environment

    @abstractmethod
    def start(self) -> None:
        """Drill time starts now: no users yet (closed) or every user waiting for arrivals (open)."""

    @abstractmethod
    def set_level(self, level: float) -> None:
        """Users (closed model) or arrivals a second (open model) from now on."""

    @abstractmethod
    def stop(self) -> None:
        """End the load gracefully; called once, also when :meth:`start` was not."""

    @abstractmethod
    def collect(self) -> None:
        """Hand the requests that ended since the last call to the sinks (every tick)."""

    @property
    @abstractmethod
    def runner(self) -> Runner | None:
        """The Locust runner (local or master) while the load runs, else None."""

    @property
    def user_count(self) -> int:
        runner = self.runner
        return runner.user_count if runner is not None else 0

    @property
    def arrival_totals(self) -> dict[str, Any]:
        """Open model: ``intended_arrivals`` and ``dropped_arrivals`` so far; {} otherwise."""
        return {}


class _LocalDriver(LoadDriver):
    """Users in greenlets of this process; every request classified here (``on_samples``).

    The request listener only keeps the event (:class:`RequestEvents`); :meth:`collect`
    classifies what was kept, and :meth:`stop` collects once more after the drain.
    """

    def __init__(
        self,
        spec: LoadSpec,
        user_classes: list[type[User]],
        *,
        target_url: str,
        classifier: RequestClassifier,
        sinks: LoadSinks,
    ) -> None:
        self.spec = spec
        self.classifier = classifier
        self.sinks = sinks
        self.in_flight = InFlight()
        self.events = RequestEvents(classifier)
        self.on_request = self.events.on_request  # Locust's request listener
        self._runner: Runner | None = None
        self._collector: gevent.Greenlet | None = None
        classes = [self._wrap(track_requests(c, self.in_flight)) for c in user_classes]
        self.env = Environment(user_classes=classes, host=target_url, catch_exceptions=True)
        self.env.events.request.add_listener(self.on_request)
        self.env.events.user_error.add_listener(self.on_user_error)

    def _wrap(self, user_class: type[User]) -> type[User]:
        return user_class

    @property
    def runner(self) -> Runner | None:
        return self._runner

    def collect(self) -> None:
        """Classify the request events kept since the last call; samples and writes to the sinks."""
        samples, writes = self.events.classify()
        if samples:
            self.sinks.on_samples(samples)
        for write in writes:
            self.sinks.on_write(write)

    def on_user_error(self, user_instance: Any, exception: BaseException, **_: Any) -> None:
        """Locust's user_error event: an error sample of the task whose own code raised."""
        self.sinks.on_samples([task_error(self.classifier, user_instance, exception)])

    def start(self) -> None:
        self._runner = self.env.create_local_runner()
        drop_locust_request_stats(self._runner)  # the harness records every request itself
        # the drill runner collects every tick too (before it flushes and judges); this one
        # also runs while the runner waits at the end (faults reverted, a restart awaited)
        self._collector = gevent.spawn(collect_forever, self.collect)

    def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is None:
            return
        try:
            wait_for_in_flight(self.in_flight, self.spec.drain_s)
        finally:
            if self._collector is not None:
                self._collector.kill()
                self._collector = None
            runner.quit()
            try:
                self.collect()  # the requests that ended during the drain
            finally:
                record_cut_offs(self.in_flight, self.classifier, self.sinks.on_samples)


class LocalClosedDriver(_LocalDriver):
    """Closed model in this process: the level is a number of users."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._users: int | None = None

    def set_level(self, level: float) -> None:
        users = max(int(round(level)), 0)
        if users != self._users and self._runner is not None:
            self._users = users
            self._runner.start(users, spawn_rate=self.spec.spawn_rate_per_s)


class LocalOpenDriver(_LocalDriver):
    """Open model in this process: ``max_concurrency`` users wait for one :class:`ArrivalGate`.

    Dropped arrivals become ``harness:dropped`` rows (``on_rows``) once their bucket
    has ended.
    """

    def __init__(
        self,
        spec: LoadSpec,
        user_classes: list[type[User]],
        *,
        target_url: str,
        classifier: RequestClassifier,
        sinks: LoadSinks,
        bucket_s: float,
    ) -> None:
        if sinks.on_rows is None:
            raise InputError("load.model 'open' needs a rows sink (LoadEngine(on_rows=...))")
        self.drops = DroppedArrivals(bucket_s, sink=sinks.on_rows)
        self.gate = ArrivalGate(max_backlog=spec.max_concurrency, on_drop=self._on_drop)
        super().__init__(
            spec, user_classes, target_url=target_url, classifier=classifier, sinks=sinks
        )

    def _wrap(self, user_class: type[User]) -> type[User]:
        gate = self.gate
        return gated(user_class, lambda: gate)

    def _on_drop(self, intended_unix_s: float) -> None:
        self.drops.record(intended_unix_s - self.classifier.t0_unix_s)

    def start(self) -> None:
        super().start()
        assert self._runner is not None
        self.gate.start()
        self._runner.start(self.spec.max_concurrency, spawn_rate=self.spec.max_concurrency)

    def set_level(self, level: float) -> None:
        self.gate.rate_per_s = max(level, 0.0)
        # arrivals are issued in time order: ended buckets are whole
        self.drops.flush(time.time() - self.classifier.t0_unix_s)

    def stop(self) -> None:
        self.gate.stop()
        self.drops.flush_all()
        super().stop()

    @property
    def arrival_totals(self) -> dict[str, Any]:
        return {"intended_arrivals": self.gate.issued, "dropped_arrivals": self.gate.dropped}


class DistributedDriver(LoadDriver):
    """Locust's distributed mode (:class:`~harness.load.distributed.MasterLoad`), either model.

    Constructing it starts the worker processes and waits for every expected worker;
    the workers classify and record, the master passes their data to the sinks.
    """

    def __init__(
        self,
        spec: LoadSpec,
        user_classes: list[type[User]],
        *,
        target_url: str,
        classifier: RequestClassifier,
        sinks: LoadSinks,
        bucket_s: float,
        scenario_path: Path | None = None,
    ) -> None:
        if sinks.on_rows is None:
            raise InputError("load.workers > 0 needs a rows sink (LoadEngine(on_rows=...))")
        from harness.load.distributed import MasterLoad  # binds ports: only when asked for

        self.master = MasterLoad(
            spec,
            user_classes,
            target_url=target_url,
            scenario_path=scenario_path or _scenario_file(user_classes),
            bucket_s=bucket_s,
            classifier=classifier,
            on_rows=sinks.on_rows,
            on_write=sinks.on_write,
            on_live=sinks.on_live,
            on_health=sinks.on_health,
            on_lost=sinks.on_lost,
        )
        self.env = self.master.env
        self._running = False

    @property
    def runner(self) -> Runner | None:
        return self.master.runner if self._running else None

    def start(self) -> None:
        self.master.start()
        self._running = True

    def set_level(self, level: float) -> None:
        self.master.set_level(level)

    def collect(self) -> None:
        """Nothing to do here: the workers collect, and their data comes with their reports."""

    def stop(self) -> None:
        self._running = False
        self.master.stop()

    @property
    def arrival_totals(self) -> dict[str, Any]:
        return self.master.arrival_totals


def make_driver(
    spec: LoadSpec,
    user_classes: list[type[User]],
    *,
    target_url: str,
    classifier: RequestClassifier,
    sinks: LoadSinks,
    bucket_s: float,
    scenario_path: Path | None = None,
) -> LoadDriver:
    """The driver for ``spec``: distributed with workers, else local closed or open."""
    common: dict[str, Any] = {
        "target_url": target_url,
        "classifier": classifier,
        "sinks": sinks,
    }
    if spec.workers > 0:
        return DistributedDriver(
            spec, user_classes, bucket_s=bucket_s, scenario_path=scenario_path, **common
        )
    if spec.model is LoadModel.OPEN:
        return LocalOpenDriver(spec, user_classes, bucket_s=bucket_s, **common)
    return LocalClosedDriver(spec, user_classes, **common)


def _scenario_file(user_classes: list[type[User]]) -> Path:
    return Path(inspect.getfile(user_classes[0])).resolve()
