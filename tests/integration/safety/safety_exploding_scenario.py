"""Locustfile whose import makes the drill loop raise 1.5 s after the load starts.

It stands for any unexpected error inside a running drill (a bug in the harness, a
library raising): it wraps the public ``LoadEngine.set_level``, which the runner
calls on every tick, so the exception surfaces inside the loop while faults are on.
"""

import time

from locust import FastHttpUser, constant, task

from harness.load.engine import LoadEngine

_original_set_level = LoadEngine.set_level
_first_call: list[float] = []


def _exploding_set_level(self: LoadEngine, level: float) -> None:
    if not _first_call:
        _first_call.append(time.monotonic())
    if time.monotonic() - _first_call[0] > 1.5:
        raise RuntimeError("injected failure inside the drill loop")
    _original_set_level(self, level)


LoadEngine.set_level = _exploding_set_level


class Pinger(FastHttpUser):
    """One user: GET /api/ping every 50 ms (request name 'ping')."""

    wait_time = constant(0.05)
    network_timeout = 2.0

    @task
    def ping(self) -> None:
        self.client.get("/api/ping", name="ping")
