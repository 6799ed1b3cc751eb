"""Driving Locust as a library: users or arrivals, request classification and recording.

The engine owns a Locust :class:`~locust.env.Environment` and its runner: a local
runner (``load.workers: 0``), or a master with worker processes
(:mod:`harness.load.distributed`). Locally it turns every Locust request event into
one :class:`RequestSample` for the drill runner's recorder and live view, and
recognises acknowledged writes; an exception raised by a task's own code (Locust's
``user_error`` event) becomes an error sample of that task
(:meth:`RequestClassifier.task_error`). With workers, the workers do that and the master
hands their rows, writes and live samples to ``on_rows``, ``on_write`` and
``on_live``. The drill runner only calls :meth:`LoadEngine.set_level` as time passes.

Closed model: the level is a number of users. Open model: the level is arrivals a
second; a dispatcher greenlet (:class:`ArrivalGate`) issues arrivals on a fixed
schedule. An arrival waits in a bounded backlog until a user is free; its latency
is also recorded from its *intended* time (corrected for coordinated omission),
and arrivals that find the backlog full are dropped: counted, and recorded as rows
of the endpoint ``harness:dropped`` (:mod:`harness.load.dropped`).

The end of a drill is graceful (:meth:`LoadEngine.stop`): no new arrival and no
new request; requests in flight (:mod:`harness.load.inflight`, registered when
they start by :func:`track_requests`) get up to ``load.drain_s`` to finish and
are recorded as usual; those still open then are recorded as errors in the
bucket they started in; then the users are killed.

With ``on_health``, the engine also watches its own process
(:class:`~harness.load.health.LoopMonitor`: event-loop lag and CPU per bucket) from
:meth:`LoadEngine.start` to the end of :meth:`LoadEngine.stop`; with workers, each
worker watches itself and the master passes its rows on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gevent
from gevent import GreenletExit
from gevent.queue import Queue
from locust import User
from locust.env import Environment
from locust.runners import Runner

from harness.drill.model import LoadModel, LoadSpec
from harness.errors import InputError
from harness.load.classify import ARRIVAL_LATENESS_KEY, RequestClassifier, RequestSample
from harness.load.dropped import DroppedArrivals
from harness.load.health import HealthSink, LoopMonitor
from harness.load.inflight import InFlight
from harness.metrics.generator import MASTER
from harness.results.model import Outcome
from harness.results.raw import AckedWrite, MetricRow

__all__ = [
    "ArrivalGate",
    "LoadEngine",
    "RequestClassifier",
    "RequestSample",
    "task_error",
    "track_requests",
    "wait_for_in_flight",
]

log = logging.getLogger(__name__)

DISPATCH_MAX_SLEEP_S = 0.05  # the dispatcher notices a new rate at least this often
DRAIN_POLL_S = 0.02


class ArrivalGate:
    """Open model: issues arrivals at the current rate; late arrivals queue, overflow is dropped.

    An arrival scheduled at ``T`` goes to a free user at once, or waits (FIFO) for
    the next user to become free, as long as fewer than ``max_backlog`` arrivals
    are already waiting; otherwise it is dropped. The user that takes it learns how
    late it starts (``now - T``), and every request of that task carries it.
    """

    def __init__(self, max_backlog: int, on_drop: Callable[[float], None] | None = None) -> None:
        self.rate_per_s = 0.0
        self.max_backlog = max_backlog
        self.on_drop = on_drop  # called with the intended time (unix s) of each dropped arrival
        self.issued = 0
        self.dropped = 0
        self._idle = 0
        self._queue: Queue[float] = Queue()
        self._greenlet: gevent.Greenlet | None = None

    def start(self) -> None:
        self._greenlet = gevent.spawn(self._dispatch)

    def stop(self) -> None:
        if self._greenlet is not None:
            self._greenlet.kill(block=False)
            self._greenlet = None

    @property
    def backlog(self) -> int:
        """Arrivals issued that no user has taken yet, beyond the users already waiting."""
        return max(self._queue.qsize() - self._idle, 0)

    def wait_for_arrival(self) -> float:
        """Block the calling user until it gets an arrival; return how late it starts (s, >= 0)."""
        self._idle += 1
        try:
            intended = self._queue.get()
        finally:
            self._idle -= 1
        return max(time.time() - intended, 0.0)

    def offer(self, intended_unix_s: float) -> bool:
        """Issue one arrival scheduled at ``intended_unix_s``; False if it was dropped."""
        self.issued += 1
        if self._queue.qsize() - self._idle >= self.max_backlog:
            self.dropped += 1
            if self.on_drop is not None:
                self.on_drop(intended_unix_s)
            return False
        self._queue.put_nowait(intended_unix_s)
        return True

    def _dispatch(self) -> None:
        last: float | None = None
        burst = 0
        while True:
            rate = self.rate_per_s
            now = time.time()
            if rate <= 0:
                last = None
                gevent.sleep(DISPATCH_MAX_SLEEP_S)
                continue
            next_at = now if last is None else last + 1.0 / rate
            if next_at > now:
                burst = 0
                gevent.sleep(min(next_at - now, DISPATCH_MAX_SLEEP_S))
                continue  # re-read the rate: a shape may have changed it meanwhile
            self.offer(next_at)
            last = next_at
            burst += 1
            if burst % 100 == 0:  # catching up after a stall: let the users run
                gevent.sleep(0)


def _gated(user_class: type[User], gate: ArrivalGate) -> type[User]:
    """A subclass of ``user_class`` whose every task waits for an arrival from ``gate``.

    The user's own ``on_start`` runs first (its requests are not arrivals), then
    the user waits for its first arrival; after each task it waits for the next
    one instead of its ``wait_time``.
    """
    original_context = user_class.context
    original_on_start = user_class.on_start

    def wait_time(self: User) -> float:
        self._harness_lateness = gate.wait_for_arrival()
        return 0.0

    def on_start(self: User) -> None:
        self._harness_lateness = None
        original_on_start(self)
        self._harness_lateness = gate.wait_for_arrival()

    def context(self: User) -> dict[str, Any]:
        return {
            **original_context(self),
            ARRIVAL_LATENESS_KEY: getattr(self, "_harness_lateness", None),
        }

    namespace = {
        "wait_time": wait_time,
        "on_start": on_start,
        "context": context,
        "__module__": user_class.__module__,
    }
    return type(user_class.__name__, (user_class,), namespace)


def track_requests(user_class: type[User], in_flight: InFlight) -> type[User]:
    """A subclass of ``user_class`` whose client registers each request in ``in_flight``.

    Every client with a ``request`` method (``HttpUser``, ``FastHttpUser``: their
    ``get``/``post``/... go through it) is tracked from the moment a request starts
    until it returns. Once ``in_flight`` is closed, a new request is not sent: the
    user ends quietly (``GreenletExit``, also from ``on_start``/``on_stop``). A
    request killed while in flight after the close stays registered, for
    :meth:`InFlight.cut_off`; one killed during the drill (a closed-model ramp-down
    stopping a user) is forgotten, as Locust does.
    """
    base_init = user_class.__init__

    def __init__(self: User, *args: Any, **kwargs: Any) -> None:
        base_init(self, *args, **kwargs)
        client = getattr(self, "client", None)
        original = getattr(client, "request", None)
        if callable(original):
            client.request = _tracked_request(original, self, in_flight)

    namespace = {"__init__": __init__, "__module__": user_class.__module__}
    return type(user_class.__name__, (user_class,), namespace)


def _tracked_request(original: Callable[..., Any], user: User, in_flight: InFlight) -> Any:
    def request(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        if in_flight.closed:
            raise GreenletExit  # the drill is over: nothing new leaves, the user just ends
        name = kwargs.get("name") or url
        token = in_flight.begin(str(name), time.time(), getattr(user, "_harness_lateness", None))
        try:
            result = original(method, url, *args, **kwargs)
        except GreenletExit:
            if not in_flight.closed:
                in_flight.end(token)  # a ramp-down killed the user: not recorded
            raise  # after the close: cut off, left for InFlight.cut_off()
        except BaseException:
            in_flight.end(token)
            raise
        in_flight.end(token)
        return result

    return request


def task_error(
    classifier: RequestClassifier, user_instance: Any, exception: BaseException
) -> RequestSample:
    """The error sample of Locust's ``user_error`` event (a task's own code raised).

    Locust fires it with the running TaskSet (plain users: their ``DefaultTaskSet``) or,
    from ``on_start``, with the User; the task is named after the User's class.
    """
    user = getattr(user_instance, "user", None) or user_instance
    return classifier.task_error(user_class=type(user).__name__, exception=exception)


def wait_for_in_flight(in_flight: InFlight, limit_s: float) -> None:
    """Close ``in_flight`` and wait until no request is in flight, at most ``limit_s``."""
    in_flight.closed = True
    deadline = time.monotonic() + limit_s
    while len(in_flight) and time.monotonic() < deadline:
        gevent.sleep(min(DRAIN_POLL_S, max(deadline - time.monotonic(), 0.0)))


SampleSink = Callable[[RequestSample], None]
WriteSink = Callable[[AckedWrite], None]
RowsSink = Callable[[list[MetricRow]], None]
LiveSink = Callable[[float, Outcome, float | None], None]


class LoadEngine:
    """Runs a scenario's users against a target, at a level set from outside.

    ``on_sample`` gets every request of a local run. With ``spec.workers > 0`` the
    workers record; the master passes their closed buckets to ``on_rows``, their
    writes to ``on_write`` and one live sample per request to ``on_live``
    (``t_s, outcome, latency_ms``, filed ``LIVE_LAG_S`` late so that a second is
    complete before abort conditions judge it).
    """

    def __init__(
        self,
        spec: LoadSpec,
        user_classes: list[type[User]],
        *,
        target_url: str,
        classifier: RequestClassifier,
        on_sample: SampleSink,
        on_write: WriteSink,
        on_rows: RowsSink | None = None,
        on_live: LiveSink | None = None,
        scenario_path: Path | None = None,
        bucket_s: float = 0.25,
        on_health: HealthSink | None = None,
    ) -> None:
        self.spec = spec
        self.classifier = classifier
        self.on_sample = on_sample
        self.on_write = on_write
        self.runner: Runner | None = None
        self.master: Any = None  # harness.load.distributed.MasterLoad with workers
        self.gate: ArrivalGate | None = None
        self.drops: DroppedArrivals | None = None
        self.in_flight = InFlight()
        self._level: float | None = None
        self._stopped = False
        self.monitor: LoopMonitor | None = None  # this process's own lag and CPU
        if on_health is not None:
            self.monitor = LoopMonitor(
                bucket_s=bucket_s,
                clock=classifier.clock.now_s,
                sink=on_health,
                process=MASTER if spec.workers > 0 else "harness",
            )
        if spec.workers > 0:
            if spec.model is LoadModel.OPEN:
                raise InputError(
                    "load.model 'open' with load.workers > 0 is not supported yet; "
                    "run the open model in-process (load.workers: 0) or use model 'closed'"
                )
            if on_rows is None:
                raise InputError("load.workers > 0 needs a rows sink (LoadEngine(on_rows=...))")
            from harness.load.distributed import MasterLoad

            self.master = MasterLoad(
                spec,
                user_classes,
                target_url=target_url,
                scenario_path=scenario_path or _scenario_file(user_classes),
                bucket_s=bucket_s,
                classifier=classifier,
                on_rows=on_rows,
                on_write=on_write,
                on_live=on_live,
                on_health=on_health,
            )
            self.env = self.master.env
            return
        if spec.model is LoadModel.OPEN:
            if on_rows is None:
                raise InputError("load.model 'open' needs a rows sink (LoadEngine(on_rows=...))")
            self.drops = DroppedArrivals(bucket_s, sink=on_rows)
            self.gate = ArrivalGate(max_backlog=spec.max_concurrency, on_drop=self._on_drop)
        classes = [track_requests(c, self.in_flight) for c in user_classes]
        if self.gate is not None:
            classes = [_gated(c, self.gate) for c in classes]
        self.env = Environment(user_classes=classes, host=target_url, catch_exceptions=True)
        self.env.events.request.add_listener(self._on_request)
        self.env.events.user_error.add_listener(self._on_user_error)

    def _on_request(
        self,
        request_type: str,
        name: str,
        response_time: float,
        response_length: int,
        response: Any = None,
        context: dict[str, Any] | None = None,
        exception: BaseException | None = None,
        start_time: float | None = None,
        **_: Any,
    ) -> None:
        sample, write = self.classifier.classify(
            name=name,
            response_time=response_time,
            response=response,
            context=context,
            exception=exception,
            start_time=start_time,
        )
        self.on_sample(sample)
        if write is not None:
            self.on_write(write)

    def _on_user_error(self, user_instance: Any, exception: BaseException, **_: Any) -> None:
        self.on_sample(task_error(self.classifier, user_instance, exception))

    def _on_drop(self, intended_unix_s: float) -> None:
        assert self.drops is not None
        self.drops.record(intended_unix_s - self.classifier.t0_unix_s)

    def start(self) -> None:
        """Drill time starts now: no users yet (closed) or all users waiting for arrivals (open)."""
        if self.monitor is not None:
            self.monitor.start()
        if self.master is not None:
            self.master.start()
            self.runner = self.master.runner
            return
        self.runner = self.env.create_local_runner()
        if self.gate is not None:
            self.gate.start()
            self.runner.start(self.spec.max_concurrency, spawn_rate=self.spec.max_concurrency)

    def set_level(self, level: float) -> None:
        """Users (closed model) or arrivals a second (open model) from now on."""
        if self.runner is None:
            raise RuntimeError("LoadEngine.set_level() before start(); call start() first")
        if self.gate is not None:
            self.gate.rate_per_s = max(level, 0.0)
            if self.drops is not None:  # arrivals are issued in time order: ended buckets are whole
                self.drops.flush(time.time() - self.classifier.t0_unix_s)
            return
        users = max(int(round(level)), 0)
        if self.master is not None:
            self.master.set_users(users)
            return
        if users != self._level:
            self._level = users
            self.runner.start(users, spawn_rate=self.spec.spawn_rate_per_s)

    @property
    def arrival_totals(self) -> dict[str, int]:
        """Open model: arrivals issued and dropped so far (for the journal); {} otherwise."""
        if self.gate is None:
            return {}
        return {"intended_arrivals": self.gate.issued, "dropped_arrivals": self.gate.dropped}

    @property
    def user_count(self) -> int:
        return self.runner.user_count if self.runner is not None else 0

    def stop(self) -> None:
        """End the load gracefully (see the module docs); safe to call twice.

        No new arrival and no new request; requests in flight get up to
        ``load.drain_s`` to finish; those still open then are recorded as errors
        (through ``on_sample``) in the bucket they started in; then every user is
        killed. With workers, each worker does the same and sends its last rows.
        The health monitor stops last, after the drain.
        """
        if self._stopped:
            return
        self._stopped = True
        try:
            self._stop_load()
        finally:
            if self.monitor is not None:
                self.monitor.stop()

    def _stop_load(self) -> None:
        if self.gate is not None:
            self.gate.stop()
        if self.drops is not None:
            self.drops.flush_all()
        if self.master is not None:
            self.master.stop()
            self.runner = None
            return
        runner, self.runner = self.runner, None
        if runner is None:
            return
        try:
            wait_for_in_flight(self.in_flight, self.spec.drain_s)
        finally:
            runner.quit()
            now = time.time()
            for pending in self.in_flight.cut_off():
                self.on_sample(
                    self.classifier.cut_off(
                        name=pending.name,
                        start_unix_s=pending.start_unix_s,
                        end_unix_s=now,
                        lateness_s=pending.lateness_s,
                    )
                )


def _scenario_file(user_classes: list[type[User]]) -> Path:
    import inspect

    return Path(inspect.getfile(user_classes[0])).resolve()
