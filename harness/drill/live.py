"""A small rolling view of the last seconds of load: for the live terminal view and abort conditions.

Kept apart from the exact per-bucket histograms: this holds one second of raw
latencies per slot for the last ``span_s`` seconds and nothing more, and the load
generator's latest health rows (event-loop lag, CPU) for the same span.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from harness.metrics.generator import MASTER
from harness.results.model import Outcome
from harness.results.raw import GeneratorRow


@dataclass
class _Second:
    second: int
    counts: dict[Outcome, int] = field(default_factory=lambda: dict.fromkeys(Outcome, 0))
    latencies_ms: list[float] = field(default_factory=list)


class LiveWindow:
    """Counts and latencies per whole second of drill time, for the last ``span_s`` seconds."""

    def __init__(self, span_s: int = 30) -> None:
        self._seconds: deque[_Second] = deque(maxlen=span_s)
        self._p95_memo: tuple[int, float, float | None] | None = None  # (end second, span, p95)
        self._health: deque[tuple[float, GeneratorRow]] = deque(maxlen=64 * span_s)

    def add_health(self, start_s: float, row: GeneratorRow) -> None:
        """Keep one load process's health row of the bucket starting at ``start_s``."""
        if row.process != MASTER:  # a Locust master times no request
            self._health.append((start_s, row))

    def generator(self, now_s: float, last_s: float = 2.0) -> tuple[float | None, float | None]:
        """The load generator's worst event-loop lag (ms) and highest CPU (%) of the buckets
        that started in the last ``last_s`` seconds, over its processes; (None, None) if none."""
        rows = [row for start, row in self._health if now_s - last_s <= start < now_s]
        if not rows:
            return None, None
        return max(r.lag_max_ms for r in rows), max(r.cpu_percent for r in rows)

    def add(self, t_s: float, outcome: Outcome, latency_ms: float | None) -> None:
        """Count one request; ``latency_ms`` None: nothing was timed (a task's own exception)."""
        second = math.floor(t_s)
        seconds = self._seconds
        if seconds and seconds[-1].second == second:  # the current second: every request but
            slot = seconds[-1]  # the first of each second and late ones (runs per request)
        else:
            slot = self._slot(second)
            if slot is None:
                return
        slot.counts[outcome] += 1
        if outcome is not Outcome.SHED and latency_ms is not None:
            slot.latencies_ms.append(latency_ms)
            if self._p95_memo is not None and second < self._p95_memo[0]:
                self._p95_memo = None  # a late request changed a second the memo covers

    def _slot(self, second: int) -> _Second | None:
        if self._seconds and second < self._seconds[0].second:
            return None  # older than the window
        for slot in reversed(self._seconds):
            if slot.second == second:
                return slot
            if slot.second < second:
                break
        slot = _Second(second)
        self._seconds.append(slot)
        ordered = sorted(self._seconds, key=lambda s: s.second)
        self._seconds.clear()
        self._seconds.extend(ordered)
        return slot

    def _recent(self, now_s: float, last_s: float) -> list[_Second]:
        """The last ``last_s`` whole seconds that have ended by ``now_s``."""
        end = math.floor(now_s)
        return [s for s in self._seconds if end - last_s <= s.second < end]

    def rps(self, now_s: float, last_s: float = 1.0) -> float:
        slots = self._recent(now_s, last_s)
        return sum(sum(s.counts.values()) for s in slots) / last_s

    def error_ratio(self, now_s: float, last_s: float = 1.0) -> float | None:
        slots = self._recent(now_s, last_s)
        total = sum(sum(s.counts.values()) for s in slots)
        if total == 0:
            return None
        return sum(s.counts[Outcome.ERROR] for s in slots) / total

    def p95_ms(self, now_s: float, last_s: float = 1.0) -> float | None:
        # the answer changes once a second, but the live view asks 20 times a second:
        # remember it for the same (last whole second, span) until a late sample lands there
        key = (math.floor(now_s), last_s)
        if self._p95_memo is not None and self._p95_memo[:2] == key:
            return self._p95_memo[2]
        latencies = sorted(x for s in self._recent(now_s, last_s) for x in s.latencies_ms)
        value = (
            latencies[min(len(latencies) - 1, math.ceil(0.95 * len(latencies)) - 1)]
            if latencies
            else None
        )
        self._p95_memo = (*key, value)
        return value

    def ratio(self, now_s: float, outcome: Outcome, last_s: float = 1.0) -> float | None:
        slots = self._recent(now_s, last_s)
        total = sum(sum(s.counts.values()) for s in slots)
        return sum(s.counts[outcome] for s in slots) / total if total else None


@dataclass
class LiveStatus:
    """What the live view shows, refreshed every tick."""

    t_s: float
    duration_s: float
    phase: str
    phase_left_s: float
    rps: float
    p95_ms: float | None
    error_ratio: float | None
    users: int
    active_faults: list[str]
    abort_conditions: list[str]
    dropped_arrivals: int | None = None  # open model: arrivals dropped so far (backlog full)
    generator_lag_ms: float | None = None  # the load generator's worst loop lag, last 2 s
    generator_cpu_percent: float | None = None  # its highest CPU, % of one core, last 2 s
