"""Classifying Locust request events: outcome, latencies, start time, acknowledged write.

A load process keeps its events raw (:mod:`harness.load.events`) and classifies them
in batches (:meth:`RequestClassifier.classify_all`); :meth:`RequestClassifier.classify`
is the same for one event.

An error sample also carries its *error kind* (``http 500``, ``ReadTimeout``,
``failure: <message>``, ...: :mod:`harness.load.error_kind`); only errors pay for it.
An exception raised by a task's own code (Locust's ``user_error``) becomes an error
sample of the task (:meth:`RequestClassifier.task_error`), so a broken scenario is
never a healthy-looking run.

Locust-free on purpose (the engine, the Locust workers and the unit tests share it):
it reads only the arguments of Locust's ``request`` event.

Open model: an arrival is scheduled for an *intended* time; the user that takes it
may start late (no user was free). The user's request context carries that
lateness (``ARRIVAL_LATENESS_KEY``, seconds). Every request of the task that served
the arrival is shifted by it: its intended start is ``start - lateness`` (the
bucket it counts in) and its corrected latency is ``latency + lateness``. So a task
of two requests gives each request its own latency plus the arrival's delay,
never the first request's duration counted again into the second.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.clock import DrillClock
from harness.load.error_kind import request_error_kind, task_endpoint, task_error_kind
from harness.load.outcome import OutcomeRules
from harness.load.spec import WriteRule
from harness.load.writes import WriteReader
from harness.results.model import Outcome
from harness.results.raw import CUT_OFF_KIND, AckedWrite

log = logging.getLogger(__name__)

ARRIVAL_LATENESS_KEY = "harness_arrival_lateness_s"

# A request event as a load process keeps it until it classifies it (a plain tuple:
# a named one costs a call per request): name, response time (ms), outcome, status
# (0: no response), arrival lateness (s, open model; else None), start (unix s), the
# response (kept only for errors, shed requests and write endpoints; else None), the
# exception (None: none).
KeptEvent = tuple[str, float, Outcome, int, Any, float, Any, "BaseException | None"]


@dataclass(slots=True)
class RequestSample:
    """One classified request, as handed to the recorder and the live view."""

    t_s: float  # (intended) start, seconds from drill start
    endpoint: str
    outcome: Outcome
    latency_us: int | None  # None: no request was timed (an exception in the task's own code)
    intended_latency_us: int | None  # open model: from the intended start to the end
    retry_after_missing: bool
    error_kind: str | None = None  # errors only: what went wrong (harness.load.error_kind)

    @property
    def latency_ms(self) -> float | None:
        return None if self.latency_us is None else self.latency_us / 1000


class RequestClassifier:
    """Turns Locust request events into samples and acknowledged writes (no Locust state).

    In two steps, so that a request's own greenlet does as little as possible: the
    listener (:meth:`listener`) reads the outcome and reduces the event to a
    :data:`KeptEvent`; :meth:`classify_all` makes the samples and writes of many
    kept events at once. Only the events that need more than the outcome (errors,
    shed requests, acknowledged writes) keep their response until then; the rest
    keep plain values, so the garbage collector has nothing of them to walk.
    """

    def __init__(self, rules: OutcomeRules, writes: list[WriteRule], clock: DrillClock) -> None:
        self.rules = rules
        self.reader = rules.reader()
        self.writes = {rule.endpoint: rule for rule in writes}
        self._write_readers = {r.endpoint: WriteReader(r, rules.shed_status) for r in writes}
        self.clock = clock
        self._needs_body = any(m.json_field for m in rules.markers)
        self._one: list[KeptEvent] = []
        self._keep_one = self.listener(self._one.append)
        self._told_unclassifiable = False  # the first such event is logged, not every one

    @property
    def t0_unix_s(self) -> float:
        """The drill's t = 0 on the wall clock (request times are counted from it)."""
        return self.clock.t0_unix_s

    def listener(self, keep: Callable[[KeptEvent], None]) -> Callable[..., None]:
        """A Locust ``request`` listener: reads each event's outcome, passes the rest to ``keep``.

        Runs in the greenlet of every request of a load process: one function, the
        names it needs bound here.
        """
        outcome_of = self.reader.classify
        shed_status = set(self.rules.shed_status)
        slow_names = frozenset(self._write_readers)  # their responses are read for writes
        needs_body = self._needs_body
        error, shed, lateness_key, now = (
            Outcome.ERROR,
            Outcome.SHED,
            ARRIVAL_LATENESS_KEY,
            time.time,
        )

        def on_request(
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
            if response is not None:
                status = int(getattr(response, "status_code", 0) or 0)
                if status and exception is not None and status not in shed_status:
                    outcome = error  # e.g. catch_response + response.failure() on a 2xx
                else:
                    outcome = outcome_of(
                        status,
                        getattr(response, "headers", None),
                        _content(response) if needs_body else None,
                    )
            else:
                status, outcome = 0, error
            keep(
                (
                    name,
                    response_time,
                    outcome,
                    status,
                    context.get(lateness_key) if context else None,
                    start_time if start_time is not None else now() - response_time / 1000,
                    response if outcome is error or outcome is shed or name in slow_names else None,
                    exception,
                )
            )

        return on_request

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
        """The sample of one request event and, if it acknowledged a write, that write."""
        self._keep_one(
            "",
            name,
            response_time,
            0,
            response=response,
            context=context,
            exception=exception,
            start_time=start_time,
        )
        kept = self._one[:]
        self._one.clear()
        samples, writes = self.classify_all(kept)
        return samples[0], writes[0] if writes else None

    def classify_all(self, events: list[KeptEvent]) -> tuple[list[RequestSample], list[AckedWrite]]:
        """One sample per kept event, in order, and the writes they acknowledged.

        An event this code cannot read (a scenario's own client with an odd response)
        becomes an error sample of its endpoint with the kind ``unclassifiable: <type>``:
        never lost, never the end of the batch.
        """
        # every request of a drill passes here: one loop, names bound once
        samples: list[RequestSample] = []
        writes: list[AckedWrite] = []
        add = samples.append
        readers = self._write_readers
        needs_body = self._needs_body
        t0_unix_s = self.clock.t0_unix_s
        error, shed = Outcome.ERROR, Outcome.SHED
        for event in events:
            try:
                name, response_time, outcome, status, lateness, started, response, exc = event
                latency_us = round(response_time * 1000)
                if latency_us < 0:
                    latency_us = 0
                if lateness is not None:
                    lateness = max(float(lateness), 0.0)
                    intended_latency_us: int | None = latency_us + round(lateness * 1_000_000)
                    t_s = started - lateness - t0_unix_s
                else:
                    intended_latency_us = None
                    t_s = started - t0_unix_s
                if response is None and exc is None and outcome is not error:
                    # the usual request: its outcome says it all
                    add(RequestSample(t_s, name, outcome, latency_us, intended_latency_us, False))
                    continue
                headers = getattr(response, "headers", None) if response is not None else None
                reader = readers.get(name) if readers else None
                body = (
                    _content(response)
                    if response is not None and (needs_body or reader is not None)
                    else None
                )
                sample = RequestSample(
                    t_s,
                    name,
                    outcome,
                    latency_us,
                    intended_latency_us,
                    outcome is shed and not _has_header(headers, "Retry-After"),
                )
                if outcome is error:
                    sample.error_kind = self._error_kind(status, exc, headers, body)
                write = (
                    reader.read(
                        t_s=t_s, response=response, exception=exc, outcome=outcome, body=body
                    )
                    if reader is not None
                    else None
                )
                add(sample)  # last: whatever raised above left nothing half-added
                if write is not None:
                    writes.append(write)
            except Exception as problem:  # noqa: BLE001 - counted as an error, named
                add(self._unclassifiable(event, problem))
        return samples, writes

    def _unclassifiable(self, event: KeptEvent, problem: Exception) -> RequestSample:
        if not self._told_unclassifiable:
            self._told_unclassifiable = True
            log.warning(
                "a request event could not be classified; counted as an error", exc_info=True
            )
        name, response_time, started = event[0], event[1], event[5]
        t0_unix_s = self.clock.t0_unix_s
        try:
            latency_us: int | None = max(round(response_time * 1000), 0)
        except Exception:  # noqa: BLE001 - the event's own fields are what is odd
            latency_us = None
        try:
            t_s = float(started) - t0_unix_s
        except Exception:  # noqa: BLE001
            t_s = time.time() - t0_unix_s
        return RequestSample(
            t_s,
            str(name),
            Outcome.ERROR,
            latency_us,
            None,
            False,
            f"unclassifiable: {type(problem).__name__}",
        )

    def _error_kind(
        self, status: int, exception: BaseException | None, headers: Any, body: bytes | None
    ) -> str:
        marker = None
        if exception is None and 0 < status < 400 and self.rules.markers:
            marker = self.rules.matching_marker(headers, body)  # body is read when markers need it
        return request_error_kind(status, exception, marker)

    def task_error(
        self, *, user_class: str, exception: BaseException, end_unix_s: float | None = None
    ) -> RequestSample:
        """An exception raised by a task's own code: an error of the task, when it was raised.

        Its endpoint is ``task:<UserClass>.<function>`` (the scenario's function in the
        traceback), its kind ``task exception: <type>``; it has no latency.
        """
        now = end_unix_s if end_unix_s is not None else time.time()
        return RequestSample(
            t_s=now - self.t0_unix_s,
            endpoint=task_endpoint(user_class, exception.__traceback__),
            outcome=Outcome.ERROR,
            latency_us=None,
            intended_latency_us=None,
            retry_after_missing=False,
            error_kind=task_error_kind(exception),
        )

    def cut_off(
        self, *, name: str, start_unix_s: float, end_unix_s: float, lateness_s: float | None
    ) -> RequestSample:
        """A request still in flight when the drain limit ran out: an error where it started.

        Its latency is the time it had when it was cut off (a lower bound of the real
        one); open model: counted from its intended start, as any other request.
        """
        latency_us = max(int(round((end_unix_s - start_unix_s) * 1_000_000)), 0)
        if lateness_s is not None:
            lateness_s = max(float(lateness_s), 0.0)
            intended_latency_us: int | None = latency_us + int(round(lateness_s * 1_000_000))
            t_s = start_unix_s - lateness_s - self.t0_unix_s
        else:
            intended_latency_us = None
            t_s = start_unix_s - self.t0_unix_s
        return RequestSample(
            t_s, name, Outcome.ERROR, latency_us, intended_latency_us, False, CUT_OFF_KIND
        )


def _content(response: Any) -> bytes | None:
    try:
        content = response.content
    except Exception:  # a body that failed to download: no markers to read
        return None
    return content if isinstance(content, bytes) else None


def _has_header(headers: Any, name: str) -> bool:
    # `is None`, not truthiness: on Locust's header objects `not headers` walks every header
    if headers is None:
        return False
    return headers.get(name) is not None or headers.get(name.lower()) is not None
