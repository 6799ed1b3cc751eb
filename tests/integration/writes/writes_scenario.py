"""Customers place orders with a fresh idempotency key each; every request name is ``orders:create``.

Each user cycles through the server's modes (writes_server.py): ok, slow (the answer
comes after the 0.5 s client timeout), after (stored, then 500), before (500, nothing
stored). ``OrdersFast`` sends the same with FastHttpUser.
"""

from __future__ import annotations

import itertools
import uuid

from locust import FastHttpUser, HttpUser, constant, task

MODES = ("ok", "ok", "slow", "after", "before")


class Orders(HttpUser):
    wait_time = constant(0.05)

    def on_start(self) -> None:
        self.modes = itertools.cycle(MODES)

    @task
    def place_order(self) -> None:
        mode = next(self.modes)
        self.client.post(
            f"/orders?mode={mode}",
            json={"item": "A1234"},
            headers={"Idempotency-Key": f"K-{uuid.uuid4().hex[:12]}"},
            name="orders:create",
            timeout=0.5,
        )


class OrdersFast(FastHttpUser):
    wait_time = constant(0.05)
    network_timeout = 0.5
    connection_timeout = 0.5

    def on_start(self) -> None:
        self.modes = itertools.cycle(MODES)

    @task
    def place_order(self) -> None:
        mode = next(self.modes)
        self.client.post(
            f"/orders?mode={mode}",
            json={"item": "A1234"},
            headers={"Idempotency-Key": f"K-{uuid.uuid4().hex[:12]}"},
            name="orders:create",
        )
