"""Requests sent and not answered yet: what a drill's end waits for, and what it cuts off.

Locust-free on purpose (the engine, the workers and the unit tests share it).
Locust fires its ``request`` event only when a request ends; a user greenlet
killed while it waits for an answer fires nothing. So the engine (and each
worker) registers every request when it *starts* (``begin``) and forgets it when
it ends (``end``). At the end of a drill the registry is *closed*: no new request
leaves, the ones in flight get up to the drain limit (``load.drain_s``) to
finish and are recorded as usual, and whatever is still open after that is
returned by :meth:`InFlight.cut_off` and recorded as an error in the bucket of
its (intended) start (:meth:`RequestClassifier.cut_off
<harness.load.classify.RequestClassifier.cut_off>`).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass


@dataclass(frozen=True)
class PendingRequest:
    """A request that started and has not ended."""

    name: str
    start_unix_s: float
    lateness_s: float | None  # open model: how late the arrival it serves started


class InFlight:
    """The registry of requests in flight; :attr:`closed` once the drill is over.

    It runs twice per request (:meth:`begin`, :meth:`end`), so it holds plain tuples;
    :class:`PendingRequest` objects are made only for what :meth:`cut_off` returns
    (a frozen dataclass costs ~1 us to build, measured here).
    """

    def __init__(self) -> None:
        self.closed = False
        self._open: dict[int, tuple[str, float, float | None]] = {}
        self._tokens = itertools.count()

    def __len__(self) -> int:
        return len(self._open)

    def begin(self, name: str, start_unix_s: float, lateness_s: float | None = None) -> int:
        """Register a request that starts now; the token is for :meth:`end`."""
        token = next(self._tokens)
        self._open[token] = (name, start_unix_s, lateness_s)
        return token

    def end(self, token: int) -> None:
        """The request ended (its Locust event fired, or it will never be recorded)."""
        self._open.pop(token, None)

    def cut_off(self) -> list[PendingRequest]:
        """Every request still open, oldest first; the registry is empty afterwards."""
        pending = [PendingRequest(*self._open[t]) for t in sorted(self._open)]
        self._open.clear()
        return pending
