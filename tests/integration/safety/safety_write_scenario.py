"""Locustfile for the kill matrix: pings, and writes whose ids the drill reads back at the end."""

from locust import FastHttpUser, constant, task


class Writer(FastHttpUser):
    """One user: GET /api/ping and POST /api/items (an acknowledged write: 201 {"id": ...})."""

    wait_time = constant(0.05)
    network_timeout = 2.0
    connection_timeout = 1.0

    @task(3)
    def ping(self) -> None:
        self.client.get("/api/ping", name="ping")

    @task
    def write(self) -> None:
        self.client.post("/api/items", json={"x": 1}, name="items:create")
