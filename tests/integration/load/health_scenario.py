"""Locustfile for the generator-health tests: a user that holds the gevent loop on purpose.

After ``HEALTH_BLOCK_AFTER_S`` seconds (environment, default 2.5) from its process's
first task, every request is followed by a 150 ms *unpatched* sleep: the whole
event loop of that load process stops, as a CPU-heavy scenario would stop it.
"""

from __future__ import annotations

import os
import time

from gevent import monkey
from locust import FastHttpUser, constant, task

_hold_loop = monkey.get_original("time", "sleep")
BLOCK_AFTER_S = float(os.environ.get("HEALTH_BLOCK_AFTER_S", "2.5"))
_first_task: list[float] = []


class LoopHog(FastHttpUser):
    """A request every 50 ms; later each one holds the loop for 150 ms."""

    wait_time = constant(0.05)

    @task
    def hit(self) -> None:
        now = time.monotonic()
        if not _first_task:
            _first_task.append(now)
        self.client.get("/fast", name="fast")
        if now - _first_task[0] >= BLOCK_AFTER_S:
            _hold_loop(0.15)
