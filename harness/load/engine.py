"""Driving Locust as a library: users or arrivals, request classification and recording.

The engine owns a Locust :class:`~locust.env.Environment` and its runner (local,
or master with worker processes). It turns every Locust request event into one
:meth:`Recorder.record` call (outcome, latency, start time) and one live-view
sample, and recognises acknowledged writes. The drill runner only calls
:meth:`LoadEngine.set_level` as time passes.

Closed model: the level is a number of users. Open model: the level is arrivals a
second; a dispatcher greenlet issues arrivals on schedule to idle users, counts
arrivals that found no idle user as dropped, and each arrival's latency is also
recorded from its *intended* start (corrected for coordinated omission).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gevent
from gevent.queue import Queue
from locust import User
from locust.env import Environment
from locust.runners import Runner

from harness.drill.model import LoadModel, LoadSpec, WriteRule
from harness.load.outcome import OutcomeRules
from harness.results.model import Outcome
from harness.results.raw import AckedWrite

log = logging.getLogger(__name__)

INTENDED_KEY = "harness_intended_unix_s"


@dataclass
class RequestSample:
    """One classified request, as handed to the recorder and the live view."""

    t_s: float
    endpoint: str
    outcome: Outcome
    latency_us: int
    intended_latency_us: int | None
    retry_after_missing: bool


class RequestClassifier:
    """Turns Locust request events into samples and acknowledged writes (no Locust state)."""

    def __init__(self, rules: OutcomeRules, writes: list[WriteRule], t0_unix_s: float) -> None:
        self.rules = rules
        self.writes = {rule.endpoint: rule for rule in writes}
        self.t0_unix_s = t0_unix_s
        self._needs_body = any(m.json_field for m in rules.markers)

    def classify(
        self,
        *,
        name: str,
        response_time: float,
        response: Any,
        context: dict[str, Any] | None,
        exception: BaseException | None,
        start_time: float | None,
    ) -> tuple[RequestSample, AckedWrite | None]:
        status = int(getattr(response, "status_code", 0) or 0) if response is not None else 0
        headers = getattr(response, "headers", None)
        body = _content(response) if (self._needs_body or name in self.writes) else None
        if status and exception is not None and status not in self.rules.shed_status:
            outcome = Outcome.ERROR
        else:
            outcome = self.rules.classify(status, headers, body)
        started = start_time if start_time is not None else time.time() - response_time / 1000
        latency_us = max(int(response_time * 1000), 0)
        intended = (context or {}).get(INTENDED_KEY)
        intended_latency_us = (
            max(int((started - intended) * 1_000_000) + latency_us, latency_us)
            if intended is not None
            else None
        )
        retry_after_missing = outcome is Outcome.SHED and not _has_header(headers, "Retry-After")
        t_s = (intended if intended is not None else started) - self.t0_unix_s
        sample = RequestSample(
            t_s, name, outcome, latency_us, intended_latency_us, retry_after_missing
        )
        write = self._acked_write(name, status, outcome, body, t_s)
        return sample, write

    def _acked_write(
        self, name: str, status: int, outcome: Outcome, body: bytes | None, t_s: float
    ) -> AckedWrite | None:
        rule = self.writes.get(name)
        if rule is None or not 200 <= status < 300 or outcome is Outcome.ERROR:
            return None
        try:
            write_id = json.loads(body or b"null").get(rule.id_field)
        except (ValueError, AttributeError):
            write_id = None
        if write_id in (None, ""):
            return None
        return AckedWrite(
            t_s=t_s,
            endpoint=name,
            write_id=str(write_id),
            read_path=rule.read_path.replace("{id}", str(write_id)),
        )


def _content(response: Any) -> bytes | None:
    try:
        content = response.content
    except Exception:  # a body that failed to download: no markers to read
        return None
    return content if isinstance(content, bytes) else None


def _has_header(headers: Any, name: str) -> bool:
    if not headers:
        return False
    return headers.get(name) is not None or headers.get(name.lower()) is not None


class ArrivalGate:
    """Open model: issues arrivals at the current rate to idle users; counts those dropped."""

    def __init__(self) -> None:
        self.rate_per_s = 0.0
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

    def wait_for_arrival(self) -> float:
        """Block the calling user until an arrival is issued to it; return its intended time."""
        self._idle += 1
        try:
            return self._queue.get()
        finally:
            self._idle -= 1

    def _dispatch(self) -> None:
        next_at = time.time()
        while True:
            rate = self.rate_per_s
            if rate <= 0:
                gevent.sleep(0.05)
                next_at = time.time()
                continue
            delay = next_at - time.time()
            if delay > 0:
                gevent.sleep(delay)
            if self._idle > self._queue.qsize():
                self._queue.put_nowait(next_at)
            else:
                self.dropped += 1
            self.issued += 1
            next_at += 1.0 / rate


def _gated(user_class: type[User], gate: ArrivalGate) -> type[User]:
    """A subclass of ``user_class`` whose every task waits for an arrival from ``gate``."""
    original_context = user_class.context
    original_on_start = user_class.on_start

    def wait_time(self: User) -> float:
        self._harness_intended = gate.wait_for_arrival()
        return 0.0

    def on_start(self: User) -> None:
        original_on_start(self)
        wait_time(self)

    def context(self: User) -> dict[str, Any]:
        return {**original_context(self), INTENDED_KEY: getattr(self, "_harness_intended", None)}

    namespace = {"wait_time": wait_time, "on_start": on_start, "context": context}
    return type(user_class.__name__, (user_class,), namespace)


SampleSink = Callable[[RequestSample], None]
WriteSink = Callable[[AckedWrite], None]


class LoadEngine:
    """Runs a scenario's users against a target, at a level set from outside."""

    def __init__(
        self,
        spec: LoadSpec,
        user_classes: list[type[User]],
        *,
        target_url: str,
        classifier: RequestClassifier,
        on_sample: SampleSink,
        on_write: WriteSink,
    ) -> None:
        self.spec = spec
        self.classifier = classifier
        self.on_sample = on_sample
        self.on_write = on_write
        self.gate = ArrivalGate() if spec.model is LoadModel.OPEN else None
        classes = [_gated(c, self.gate) for c in user_classes] if self.gate else list(user_classes)
        self.env = Environment(user_classes=classes, host=target_url, catch_exceptions=True)
        self.env.events.request.add_listener(self._on_request)
        self.runner: Runner | None = None
        self._level: float | None = None

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

    def start(self) -> None:
        self.runner = self.env.create_local_runner()
        if self.gate is not None:
            self.gate.start()
            self.runner.start(self.spec.max_concurrency, spawn_rate=self.spec.max_concurrency)

    def set_level(self, level: float) -> None:
        """Users (closed model) or arrivals a second (open model) from now on."""
        if self.runner is None:
            raise RuntimeError("LoadEngine.set_level() before start(); call start() first")
        if self.gate is not None:
            self.gate.rate_per_s = level
            return
        users = max(int(round(level)), 0)
        if users != self._level:
            self._level = users
            self.runner.start(users, spawn_rate=self.spec.spawn_rate_per_s)

    @property
    def user_count(self) -> int:
        return self.runner.user_count if self.runner is not None else 0

    def stop(self) -> None:
        """Stop every user and the dispatcher; safe to call twice."""
        if self.gate is not None:
            self.gate.stop()
        if self.runner is not None:
            self.runner.quit()
            self.runner = None
