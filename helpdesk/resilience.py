"""Calls from the front to one dependency: timeout, circuit breaker, bounded retries.

pybreaker's ``CircuitBreaker.call`` holds the breaker's lock for the whole guarded call,
which would serialise every call to a dependency across the front's thread pool. So the
HTTP call runs outside the lock: :meth:`DependencyClient._guarded` first refuses fast
while the breaker is open, then performs the call, then feeds its outcome through
``breaker.call`` so that pybreaker's own state machine and listeners decide the state.
(Consequence: in half-open, concurrent calls may all try the dependency, not just one.)
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pybreaker
import tenacity

from helpdesk.config import FrontSettings
from helpdesk.events import EventLog
from helpdesk.metrics import BREAKER_STATE_VALUES, FrontMetrics


class DependencyFailed(Exception):
    """A dependency call failed: connection, timeout, 5xx, or the breaker is open."""

    def __init__(self, dependency: str, reason: str) -> None:
        self.dependency = dependency
        self.reason = reason
        super().__init__(f"dependency {dependency!r} failed: {reason}")


class BreakerOpen(DependencyFailed):
    """The dependency's breaker is open: the call was not attempted."""


class NotFound(Exception):
    """The dependency answered 404: a valid answer, not a failure."""


class _BreakerListener(pybreaker.CircuitBreakerListener):
    """Feeds breaker state changes to the metrics and the event log."""

    def __init__(self, dependency: str, metrics: FrontMetrics, events: EventLog) -> None:
        self.dependency = dependency
        self.metrics = metrics
        self.events = events
        self.opened_at_monotonic = 0.0

    def state_change(self, cb: Any, old_state: Any, new_state: Any) -> None:
        old = old_state.name if old_state is not None else "closed"
        new = new_state.name
        if new == "open":
            self.opened_at_monotonic = time.monotonic()
        self.metrics.breaker_state.labels(self.dependency).set(BREAKER_STATE_VALUES[new])
        if old != new:
            self.events.write(
                "breaker_state", dependency=self.dependency, **{"from": old, "to": new}
            )


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, DependencyFailed) and not isinstance(exc, BreakerOpen)


class DependencyClient:
    """HTTP calls to one dependency with the mechanisms the configuration leaves on."""

    def __init__(
        self,
        name: str,
        base_url: str,
        settings: FrontSettings,
        *,
        timeouts: bool,
        breaker: bool,
        metrics: FrontMetrics,
        events: EventLog,
    ) -> None:
        self.name = name
        self.settings = settings
        timeout_s = settings.timeout_s if timeouts else settings.no_timeout_s
        self._deadline_s = timeout_s
        self._http = httpx.Client(
            base_url=base_url,
            timeout=httpx.Timeout(timeout_s),
            trust_env=False,
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
        )
        self._listener = _BreakerListener(name, metrics, events)
        self.breaker: pybreaker.CircuitBreaker | None = None
        if breaker:
            self.breaker = pybreaker.CircuitBreaker(
                fail_max=settings.breaker_fail_max,
                reset_timeout=settings.breaker_reset_s,
                exclude=[NotFound],
                listeners=[self._listener],
                name=name,
            )
            metrics.breaker_state.labels(name).set(0)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def _send(self, method: str, path: str, body: Any | None) -> Any:
        """One attempt: the parsed JSON body, NotFound for 404, DependencyFailed otherwise.

        httpx's timeout bounds each connect, write and read separately, so an answer
        that trickles in (a squeezed link delivering a piece every 100 ms) would never
        time out. The timeout is therefore also a deadline over the whole call: an
        answer still arriving ``timeout_s`` after the call started is cut off.
        """
        deadline = time.monotonic() + self._deadline_s
        try:
            with self._http.stream(method, path, json=body) as response:
                if response.status_code == 404:
                    raise NotFound(path)
                if response.status_code >= 400:
                    raise DependencyFailed(self.name, f"HTTP {response.status_code}")
                content = self._read_by(response, deadline)
        except httpx.TimeoutException as exc:
            raise DependencyFailed(self.name, f"timeout ({type(exc).__name__})") from exc
        except httpx.HTTPError as exc:
            raise DependencyFailed(self.name, f"{type(exc).__name__}: {exc}") from exc
        try:
            return json.loads(content)
        except ValueError as exc:
            raise DependencyFailed(self.name, "answer is not JSON") from exc

    def _read_by(self, response: httpx.Response, deadline: float) -> bytes:
        """The body, or DependencyFailed when it is still incomplete at ``deadline``."""
        expected = int(response.headers.get("content-length", -1))
        received = bytearray()
        for chunk in response.iter_bytes():
            received += chunk
            done = response.num_bytes_downloaded == expected
            if not done and time.monotonic() > deadline:
                raise DependencyFailed(
                    self.name,
                    f"timeout (answer still arriving after {self._deadline_s:g} s: "
                    f"{response.num_bytes_downloaded} bytes so far)",
                )
        return bytes(received)

    def _guarded(self, method: str, path: str, body: Any | None) -> Any:
        """One attempt through the breaker (see the module docstring for why not ``call``)."""
        cb = self.breaker
        if cb is None:
            return self._send(method, path, body)
        if cb.current_state == "open":
            elapsed_s = time.monotonic() - self._listener.opened_at_monotonic
            if elapsed_s < cb.reset_timeout:
                raise BreakerOpen(self.name, "circuit breaker open")
        outcome: BaseException | None = None
        value: Any = None
        try:
            value = self._send(method, path, body)
        except (DependencyFailed, NotFound) as exc:
            outcome = exc

        def replay() -> Any:
            if outcome is not None:
                raise outcome
            return value

        try:
            return cb.call(replay)
        except pybreaker.CircuitBreakerError as exc:
            if outcome is None:
                return value  # the breaker opened meanwhile, but this call did succeed
            raise DependencyFailed(self.name, f"{outcome}; breaker opened") from exc

    def write(self, method: str, path: str, body: Any | None = None) -> Any:
        """A non-idempotent call: one attempt, never retried."""
        return self._guarded(method, path, body)

    def read(self, path: str, *, method: str = "GET", body: Any | None = None) -> Any:
        """An idempotent read: bounded retries, exponential backoff with jitter."""
        s = self.settings
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(s.retry_attempts)
            | tenacity.stop_after_delay(s.retry_total_s),
            wait=tenacity.wait_exponential_jitter(
                multiplier=s.retry_initial_s, max=s.retry_max_wait_s
            ),
            retry=tenacity.retry_if_exception(_retryable),
            reraise=True,
        )
        return retrying(self._guarded, method, path, body)

    def read_once(self, path: str, *, method: str = "GET", body: Any | None = None) -> Any:
        """An idempotent read that has a local fallback, so no retry: fail fast instead."""
        return self._guarded(method, path, body)


ClientFactory = Callable[[str, str], DependencyClient]
