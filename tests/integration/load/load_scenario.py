"""Locustfile for the load tests: request names carry the pid of the process that sent them."""

from __future__ import annotations

import os

from locust import FastHttpUser, constant, task


class Hitter(FastHttpUser):
    """Closed model: a request every 50 ms per user, tagged with the worker's pid."""

    wait_time = constant(0.05)

    @task
    def hit(self) -> None:
        pid = str(os.getpid())
        self.client.get("/fast", name=f"fast-{pid}", headers={"X-Worker-Pid": pid})


class SlowArrival(FastHttpUser):
    """Open model: each arrival is one request to a 250 ms endpoint."""

    wait_time = constant(0)

    @task
    def slow(self) -> None:
        self.client.get("/slow?ms=250", name="slow")


class QuickArrival(FastHttpUser):
    """Open model: each arrival is one request to a 10 ms endpoint."""

    wait_time = constant(0)

    @task
    def quick(self) -> None:
        self.client.get("/slow?ms=10", name="quick")


class DrainInFlight(FastHttpUser):
    """Drain test: back-to-back 1.4 s requests; one is in flight when a 3 s drill ends."""

    wait_time = constant(0)

    @task
    def hold(self) -> None:
        self.client.get("/slow?ms=1400&tag=drain-1400", name="drain-1400")


class DrainStuck(FastHttpUser):
    """Drain test: one 6 s request, longer than the drill and its drain limit together."""

    wait_time = constant(0)

    @task
    def stuck(self) -> None:
        self.client.get("/slow?ms=6000&tag=drain-6000", name="drain-6000")


class OpenQuick(FastHttpUser):
    """Open model on workers: each arrival is one 20 ms request, tagged with the worker's pid."""

    wait_time = constant(0)

    @task
    def quick(self) -> None:
        pid = str(os.getpid())
        self.client.get("/slow?ms=20", name=f"open-{pid}", headers={"X-Worker-Pid": pid})


class OpenSlow(FastHttpUser):
    """Open model on workers: each arrival is one 400 ms request, tagged with the worker's pid."""

    wait_time = constant(0)

    @task
    def slow(self) -> None:
        pid = str(os.getpid())
        self.client.get("/slow?ms=400", name=f"open-{pid}", headers={"X-Worker-Pid": pid})
