"""Locustfile for the error-kind tests: every way a request (or a task) can fail, a known number of times.

``Broken`` runs its journey ``JOURNEYS`` times per user, then idles, so every request
has ended long before the drill does and the server's counts are the exact truth:

- GET /ok (ok), GET /err500 (http 500), GET /slow past the 0.5 s client timeout;
- GET /before-refused, then a request to a closed port (``ERRORS_REFUSED_PORT``);
- GET /reject?id=<random>, marked ``response.failure("ticket T-<id> rejected")``;
- GET /before-keyerror, then the journey's own code raises KeyError.

``Raiser`` sends GET /ok and then raises KeyError (unless ``ERRORS_RAISE=0``): its
requests all succeed, so only the task's own exception can fail an error_rate check.
"""

from __future__ import annotations

import os
import random

import gevent
from locust import FastHttpUser, constant, task

JOURNEYS = 3
REFUSED_URL = f"http://127.0.0.1:{os.environ.get('ERRORS_REFUSED_PORT', '9')}/nothing-listens"


class Broken(FastHttpUser):
    """The journey through every kind of error, ``JOURNEYS`` times, then idle."""

    wait_time = constant(0.05)
    network_timeout = 0.5
    connection_timeout = 0.5

    def on_start(self) -> None:
        self.journeys = 0

    @task
    def journey(self) -> None:
        if self.journeys >= JOURNEYS:
            gevent.sleep(3600)  # done: the drill's end kills the user while it sleeps
            return
        self.journeys += 1
        self.client.get("/ok", name="ok")
        self.client.get("/err500", name="err500")
        self.client.get("/slow?ms=1500", name="slow")
        self.client.get("/before-refused", name="before-refused")
        self.client.get(REFUSED_URL, name="refused")
        with self.client.get(
            f"/reject?id={random.randint(1, 99_999)}", name="reject", catch_response=True
        ) as response:
            response.failure(f"ticket {response.json()['ticket']} rejected")
        self.client.get("/before-keyerror", name="before-keyerror")
        {}["no such key"]  # a bug in the scenario's own code


class Raiser(FastHttpUser):
    """A healthy request, then a bug in the task (unless ERRORS_RAISE=0)."""

    wait_time = constant(0.05)

    @task
    def lookup(self) -> None:
        self.client.get("/ok", name="ok")
        if os.environ.get("ERRORS_RAISE", "1") != "0":
            {}["no such key"]
