"""Fixtures: a Toxiproxy to test (embedded by default, real if $TOXIPROXY_URL) and upstreams."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from toxiserver import ToxiproxyServer

from ._servers import EchoServer, OneShotServer, connect

REAL_URL = os.environ.get("TOXIPROXY_URL")


@pytest.fixture(scope="session")
def toxiproxy_url() -> Iterator[str]:
    """URL of the server under test: $TOXIPROXY_URL or an embedded server."""
    if REAL_URL:
        yield REAL_URL.rstrip("/")
        return
    with ToxiproxyServer(seed=1234) as srv:
        yield srv.url


@pytest.fixture
def embedded_only() -> None:
    """Skip when running against a real Toxiproxy (toxiserver-specific behaviour)."""
    if REAL_URL:
        pytest.skip("toxiserver-specific; not applicable to a real Toxiproxy")


class Api:
    """A thin client that deletes every proxy it created when the test ends."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=10)
        self.created: set[str] = set()

    def name(self, prefix: str = "p") -> str:
        name = f"conf_{prefix}_{uuid.uuid4().hex[:8]}"
        self.created.add(name)
        return name

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return self.http.request(method, path, **kw)

    def create_proxy(self, upstream: str, **fields: Any) -> dict[str, Any]:
        body = {"name": self.name(), "upstream": upstream, "listen": "127.0.0.1:0", **fields}
        resp = self.http.post("/proxies", json=body)
        assert resp.status_code == 201, resp.text
        return resp.json()

    def add_toxic(self, proxy: dict[str, Any], **toxic: Any) -> dict[str, Any]:
        resp = self.http.post(f"/proxies/{proxy['name']}/toxics", json=toxic)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def close(self) -> None:
        for name in self.created:
            self.http.delete(f"/proxies/{name}")
        self.http.close()


def listen_port(proxy: dict[str, Any]) -> int:
    return int(proxy["listen"].rsplit(":", 1)[1])


@pytest.fixture
def api(toxiproxy_url: str) -> Iterator[Api]:
    """API client bound to the server under test; cleans up its proxies."""
    client = Api(toxiproxy_url)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def echo() -> Iterator[EchoServer]:
    """A loopback echo server."""
    server = EchoServer()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def echo_proxy(api: Api, echo: EchoServer) -> dict[str, Any]:
    """A proxy in front of the echo server."""
    return api.create_proxy(echo.address)


@pytest.fixture
def client(echo_proxy: dict[str, Any]) -> Iterator[Any]:
    """A connected client socket through `echo_proxy`."""
    sock = connect(listen_port(echo_proxy))
    try:
        yield sock
    finally:
        sock.close()


@pytest.fixture
def oneshot_factory() -> Iterator[Any]:
    """Make OneShotServers that are all closed at teardown."""
    servers: list[OneShotServer] = []

    def make(handler: Any) -> OneShotServer:
        server = OneShotServer(handler)
        servers.append(server)
        return server

    try:
        yield make
    finally:
        for server in servers:
            server.close()
