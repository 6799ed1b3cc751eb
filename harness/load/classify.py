"""Classifying one Locust request event: outcome, latencies, start time, acknowledged write.

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

import time
from dataclasses import dataclass
from typing import Any

from harness.clock import DrillClock
from harness.load.error_kind import request_error_kind, task_endpoint, task_error_kind
from harness.load.outcome import OutcomeRules
from harness.load.spec import WriteRule
from harness.load.writes import WriteReader
from harness.results.model import Outcome
from harness.results.raw import CUT_OFF_KIND, AckedWrite

ARRIVAL_LATENESS_KEY = "harness_arrival_lateness_s"


@dataclass
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
    """Turns Locust request events into samples and acknowledged writes (no Locust state)."""

    def __init__(self, rules: OutcomeRules, writes: list[WriteRule], clock: DrillClock) -> None:
        self.rules = rules
        self.writes = {rule.endpoint: rule for rule in writes}
        self._write_readers = {r.endpoint: WriteReader(r, rules.shed_status) for r in writes}
        self.clock = clock
        self._needs_body = any(m.json_field for m in rules.markers)

    @property
    def t0_unix_s(self) -> float:
        """The drill's t = 0 on the wall clock (request times are counted from it)."""
        return self.clock.t0_unix_s

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
        # every request of a drill passes here: one pass, no helper calls on the ok path
        if response is not None:
            status = int(getattr(response, "status_code", 0) or 0)
            headers = getattr(response, "headers", None)
        else:
            status, headers = 0, None
        reader = self._write_readers.get(name) if self._write_readers else None
        body = _content(response) if (self._needs_body or reader is not None) else None
        if status and exception is not None and status not in self.rules.shed_status:
            outcome = Outcome.ERROR  # e.g. catch_response + response.failure() on a 2xx
        else:
            outcome = self.rules.classify(status, headers, body)
        latency_us = int(round(response_time * 1000))
        if latency_us < 0:
            latency_us = 0
        started = start_time if start_time is not None else time.time() - response_time / 1000
        lateness = context.get(ARRIVAL_LATENESS_KEY) if context else None
        if lateness is not None:
            lateness = max(float(lateness), 0.0)
            intended_latency_us: int | None = latency_us + int(round(lateness * 1_000_000))
            t_s = started - lateness - self.clock.t0_unix_s
        else:
            intended_latency_us = None
            t_s = started - self.clock.t0_unix_s
        retry_after_missing = outcome is Outcome.SHED and not _has_header(headers, "Retry-After")
        sample = RequestSample(
            t_s, name, outcome, latency_us, intended_latency_us, retry_after_missing
        )
        if outcome is Outcome.ERROR:
            sample.error_kind = self._error_kind(status, exception, headers, body)
        if reader is None:
            return sample, None
        return sample, reader.read(
            t_s=t_s, response=response, exception=exception, outcome=outcome, body=body
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
