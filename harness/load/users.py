"""What the harness adds to a scenario's Locust users: arrivals, request tracking, drain.

Used by every load process (the drill's own, a Locust worker): :class:`ArrivalGate`
issues open-model arrivals on a fixed schedule and :func:`gated` makes a user class
wait for them; :func:`track_requests` registers every request in flight so the end
of a drill can drain (:func:`wait_for_in_flight`) and record what is cut off
(:func:`record_cut_offs`); :func:`task_error` turns Locust's ``user_error`` event
into an error sample of the task.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import gevent
from gevent import GreenletExit
from gevent.queue import Queue
from locust import User
from locust.runners import Runner

from harness.load.classify import ARRIVAL_LATENESS_KEY, RequestClassifier, RequestSample
from harness.load.events import COLLECT_INTERVAL_S
from harness.load.inflight import InFlight

log = logging.getLogger(__name__)

__all__ = [
    "ArrivalGate",
    "collect_forever",
    "drop_locust_request_stats",
    "gated",
    "record_cut_offs",
    "task_error",
    "track_requests",
    "wait_for_in_flight",
]

DISPATCH_MAX_SLEEP_S = 0.05  # the dispatcher notices a new rate at least this often
# gevent's timers (libev's epoll backend) wake on whole milliseconds, rounded up: a
# 0.3 ms sleep returns after ~1.1 ms (measured here). The dispatcher sleeps one tick
# short and issues an arrival at the first wake-up within a tick of its time, so
# arrivals go out at most ~1 ms early instead of up to ~1.1 ms late; only lateness
# counts in the corrected latency, so that bias no longer lands on every request.
TIMER_TICK_S = 0.001
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
            if next_at > now + TIMER_TICK_S:
                burst = 0
                gevent.sleep(min(next_at - now - TIMER_TICK_S, DISPATCH_MAX_SLEEP_S))
                continue  # re-read the rate: a shape may have changed it meanwhile
            self.offer(next_at)  # due, or due within one timer tick
            last = next_at
            burst += 1
            if burst % 100 == 0:  # catching up after a stall: let the users run
                gevent.sleep(0)


def gated(user_class: type[User], gate_of: Callable[[], ArrivalGate | None]) -> type[User]:
    """A subclass of ``user_class`` whose every task waits for an arrival from ``gate_of()``.

    The user's own ``on_start`` runs first (its requests are not arrivals), then
    the user waits for its first arrival; after each task it waits for the next
    one instead of its ``wait_time``. While ``gate_of()`` is None (a worker of a
    closed-model drill) the class behaves exactly as ``user_class``.
    """
    original_context = user_class.context
    original_on_start = user_class.on_start
    original_wait_time = user_class.wait_time

    def wait_time(self: User) -> float:
        gate = gate_of()
        if gate is None:
            return original_wait_time(self)
        self._harness_lateness = gate.wait_for_arrival()
        return 0.0

    def on_start(self: User) -> None:
        self._harness_lateness = None
        original_on_start(self)
        gate = gate_of()
        if gate is not None:
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
    # runs around every request: names bound once here, no per-call attribute walks
    begin, end, now = in_flight.begin, in_flight.end, time.time

    def request(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        if in_flight.closed:
            raise GreenletExit  # the drill is over: nothing new leaves, the user just ends
        name = kwargs.get("name") or url
        token = begin(
            name if type(name) is str else str(name),
            now(),
            user.__dict__.get("_harness_lateness"),
        )
        try:
            result = original(method, url, *args, **kwargs)
        except GreenletExit:
            if not in_flight.closed:
                end(token)  # a ramp-down killed the user: not recorded
            raise  # after the close: cut off, left for InFlight.cut_off()
        except BaseException:
            end(token)
            raise
        end(token)
        return result

    return request


def drop_locust_request_stats(runner: Runner) -> bool:
    """Detach Locust's own per-request statistics from ``runner``; True if it was attached.

    Every Locust runner logs each request into ``environment.stats`` (its web UI, CSV
    and console tables), ~2 us a request measured here. A drill records every request
    itself (classified, per bucket) and nothing reads Locust's table, so the load
    processes drop that listener; ``environment.stats`` stays empty in a drill. It is
    found as the ``request`` listener defined in ``Runner.__init__`` (Locust 2.x); if
    a Locust version defines it elsewhere, nothing is removed and the drill just
    pays for it.
    """
    handlers = runner.environment.events.request._handlers
    mine = [h for h in handlers if getattr(h, "__qualname__", "") == _LOCUST_STATS_LISTENER]
    for handler in mine:
        handlers.remove(handler)
    return bool(mine)


_LOCUST_STATS_LISTENER = "Runner.__init__.<locals>.on_request"


def task_error(
    classifier: RequestClassifier, user_instance: Any, exception: BaseException
) -> RequestSample:
    """The error sample of Locust's ``user_error`` event (a task's own code raised).

    Locust fires it with the running TaskSet (plain users: their ``DefaultTaskSet``) or,
    from ``on_start``, with the User; the task is named after the User's class.
    """
    user = getattr(user_instance, "user", None) or user_instance
    return classifier.task_error(user_class=type(user).__name__, exception=exception)


def collect_forever(collect: Callable[[], None]) -> None:
    """Call ``collect`` every ``COLLECT_INTERVAL_S`` until killed (a greenlet of a load process).

    A failure is logged and the loop goes on: the next collect, or the last one at the
    stop, takes what is left.
    """
    while True:
        gevent.sleep(COLLECT_INTERVAL_S)
        try:
            collect()
        except Exception:
            log.exception("collecting request events failed")


def wait_for_in_flight(in_flight: InFlight, limit_s: float) -> None:
    """Close ``in_flight`` and wait until no request is in flight, at most ``limit_s``."""
    in_flight.closed = True
    deadline = time.monotonic() + limit_s
    while len(in_flight) and time.monotonic() < deadline:
        gevent.sleep(min(DRAIN_POLL_S, max(deadline - time.monotonic(), 0.0)))


def record_cut_offs(
    in_flight: InFlight,
    classifier: RequestClassifier,
    sink: Callable[[list[RequestSample]], None],
) -> None:
    """Every request still in flight (after the users were killed) as a cut-off error sample."""
    now = time.time()
    cut_off = [
        classifier.cut_off(
            name=pending.name,
            start_unix_s=pending.start_unix_s,
            end_unix_s=now,
            lateness_s=pending.lateness_s,
        )
        for pending in in_flight.cut_off()
    ]
    if cut_off:
        sink(cut_off)
