"""Drill time: seconds since the drill's t = 0, on the two scales that share that instant.

The journal and the schedule use the monotonic scale (immune to wall-clock
steps); request start times come from Locust on the wall-clock scale
(``time.time()``), and workers on other machines only know the wall clock.
A :class:`DrillClock` is made before the parts that need it and started once,
at t = 0, so nothing has to be patched with a start time after construction.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["ClockNotStarted", "DrillClock"]


class ClockNotStarted(RuntimeError):
    """Drill time was asked for before the drill's t = 0 was set."""


class DrillClock:
    """t = 0 of one drill; ``start()`` sets it once, readers ask ``now_s()`` or convert."""

    def __init__(
        self,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._monotonic = monotonic
        self._wall = wall
        self._t0_mono: float | None = None
        self._t0_unix_s: float | None = None

    @classmethod
    def started_at(cls, t0_unix_s: float) -> DrillClock:
        """A clock whose t = 0 is a wall-clock instant another process chose (a worker's)."""
        clock = cls()
        clock._t0_unix_s = t0_unix_s
        clock._t0_mono = clock._monotonic() - (clock._wall() - t0_unix_s)
        return clock

    def start(self) -> None:
        """Drill time starts now; a second call is a bug and says so."""
        if self._t0_mono is not None:
            raise RuntimeError("DrillClock.start() called twice; a drill has one t = 0")
        self._t0_unix_s = self._wall()
        self._t0_mono = self._monotonic()

    @property
    def started(self) -> bool:
        return self._t0_mono is not None

    @property
    def t0_unix_s(self) -> float:
        """``time.time()`` at t = 0."""
        if self._t0_unix_s is None:
            raise ClockNotStarted(
                "drill time asked for before the drill started (DrillClock.start())"
            )
        return self._t0_unix_s

    def now_s(self) -> float:
        """Seconds since t = 0 (monotonic)."""
        if self._t0_mono is None:
            raise ClockNotStarted(
                "drill time asked for before the drill started (DrillClock.start())"
            )
        return self._monotonic() - self._t0_mono

    def since_t0_s(self, unix_s: float) -> float:
        """A wall-clock instant (e.g. a request's start) as drill time."""
        return unix_s - self.t0_unix_s
