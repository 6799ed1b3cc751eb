"""The human agent queue: a fixed number of agents, each busy ``handle_s`` per customer.

Pure and clock-injectable: the ``agents`` process wraps one :class:`AgentQueue`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class QueueAnswer:
    """Where a customer landed: 0 = an agent took them right away."""

    accepted: bool
    queue_position: int
    estimated_wait_s: float


class AgentQueue:
    """Customers wait in order; ``high`` priority waits ahead of every ``normal`` one."""

    def __init__(
        self, agents: int, handle_s: float = 30.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if agents < 1:
            raise ValueError(f"agents must be at least 1, got {agents}")
        self.agents = agents
        self.handle_s = handle_s
        self._clock = clock
        self._busy_until: list[float] = []  # one finish time per busy agent
        self._waiting: list[tuple[bool, str]] = []  # (high priority, customer id)
        self._lock = threading.Lock()

    def _advance(self, now: float) -> None:
        """Finish conversations due by ``now`` and hand freed agents the next customers."""
        self._busy_until.sort()
        while self._busy_until and self._busy_until[0] <= now:
            freed_at = self._busy_until.pop(0)
            if self._waiting:
                self._waiting.pop(0)
                self._busy_until.append(freed_at + self.handle_s)
                self._busy_until.sort()

    def _wait_for_position(self, position: int, now: float) -> float:
        """Estimated wait of the customer at 1-based ``position`` in the queue."""
        k = len(self._busy_until)
        index = position - 1
        return max(0.0, self._busy_until[index % k] + (index // k) * self.handle_s - now)

    def enqueue(
        self, customer_id: str, high: bool, max_position: int, max_wait_s: float
    ) -> QueueAnswer:
        """Queue a customer unless that would exceed ``max_position`` or ``max_wait_s``."""
        with self._lock:
            now = self._clock()
            self._advance(now)
            if len(self._busy_until) < self.agents:
                self._busy_until.append(now + self.handle_s)
                return QueueAnswer(True, 0, 0.0)
            ahead = sum(1 for h, _ in self._waiting if h) if high else len(self._waiting)
            position = ahead + 1
            wait_s = round(self._wait_for_position(position, now), 3)
            if position > max_position or wait_s > max_wait_s:
                return QueueAnswer(False, position, wait_s)
            self._waiting.insert(ahead, (high, customer_id))
            return QueueAnswer(True, position, wait_s)

    def waiting(self) -> int:
        """Return how many customers are waiting for an agent."""
        with self._lock:
            self._advance(self._clock())
            return len(self._waiting)

    def reset(self) -> None:
        """Free every agent and empty the queue."""
        with self._lock:
            self._busy_until.clear()
            self._waiting.clear()
