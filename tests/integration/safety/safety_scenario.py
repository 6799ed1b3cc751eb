"""Locustfile for the safety tests: users that ping the controlled target as fast as it answers."""

from locust import FastHttpUser, constant, task


class Pinger(FastHttpUser):
    """One user: GET /api/ping every 50 ms (request name 'ping')."""

    wait_time = constant(0.05)
    network_timeout = 2.0
    connection_timeout = 1.0

    @task
    def ping(self) -> None:
        self.client.get("/api/ping", name="ping")
