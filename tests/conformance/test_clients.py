"""Unchanged third-party clients against the server: toxiproxy-python, curl, raw HTTP."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from toxiproxy import Toxiproxy
from toxiproxy.api import APIConsumer

from ._servers import EchoServer, connect, round_trip_s
from .conftest import Api


@pytest.fixture
def python_client(toxiproxy_url: str) -> Iterator[Toxiproxy]:
    """toxiproxy-python pointed at the server; its global host/port are restored after."""
    saved = (APIConsumer.host, APIConsumer.port)
    parts = urlsplit(toxiproxy_url)
    client = Toxiproxy()
    client.update_api_consumer(parts.hostname, parts.port)
    try:
        yield client
    finally:
        APIConsumer.host, APIConsumer.port = saved


def test_toxiproxy_python_client(python_client: Toxiproxy, api: Api, echo: EchoServer) -> None:
    """toxiproxy-python creates a proxy, adds and removes a toxic, and destroys the proxy."""
    name = api.name("py")
    proxy = python_client.create(upstream=echo.address, name=name)
    port = int(proxy.listen.rsplit(":", 1)[1])
    assert proxy.enabled is True
    with connect(port) as sock:
        assert round_trip_s(sock) < 0.1
        proxy.add_toxic(type="latency", attributes={"latency": 150})
        assert "latency_downstream" in proxy.toxics()
        assert round_trip_s(sock) >= 0.14
        proxy.destroy_toxic("latency_downstream")
        assert proxy.toxics() == {}
        assert round_trip_s(sock) < 0.1
    assert name in python_client.proxies()
    assert python_client.version() is not None
    python_client.destroy(proxy)
    assert python_client.get_proxy(name) is None


def _raw_http(url: str, request: bytes) -> tuple[int, bytes]:
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(request)
        data = bytearray()
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = bytes(data).partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def test_raw_http_requests(toxiproxy_url: str, api: Api, echo: EchoServer) -> None:
    """Hand-written HTTP/1.1 requests (as curl sends them) get the documented answers."""
    name = api.name("raw")
    body = json.dumps({"name": name, "upstream": echo.address, "listen": "127.0.0.1:0"}).encode()
    host = urlsplit(toxiproxy_url).netloc.encode()
    create = (
        b"POST /proxies HTTP/1.1\r\nHost: " + host + b"\r\nUser-Agent: curl/8.0\r\n"
        b"Content-Type: application/json\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\nConnection: close\r\n\r\n"
        + body
    )
    status, resp_body = _raw_http(toxiproxy_url, create)
    assert status == 201 and json.loads(resp_body)["name"] == name
    delete = (
        b"DELETE /proxies/"
        + name.encode()
        + b" HTTP/1.1\r\nHost: "
        + host
        + b"\r\nConnection: close\r\n\r\n"
    )
    assert _raw_http(toxiproxy_url, delete)[0] == 204


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_curl(toxiproxy_url: str, api: Api, echo: EchoServer) -> None:
    """curl can create a proxy and add a toxic (the README's examples)."""
    name = api.name("curl")
    proc = subprocess.run(
        [
            "curl",
            "-sS",
            "-w",
            "\n%{http_code}",
            "-X",
            "POST",
            f"{toxiproxy_url}/proxies",
            "-d",
            json.dumps({"name": name, "upstream": echo.address, "listen": "127.0.0.1:0"}),
        ],
        capture_output=True,
        check=True,
        timeout=10,
    )
    body, status = proc.stdout.rsplit(b"\n", 1)
    assert status == b"201" and json.loads(body)["name"] == name
    proc = subprocess.run(
        [
            "curl",
            "-sS",
            "-w",
            "\n%{http_code}",
            "-X",
            "POST",
            f"{toxiproxy_url}/proxies/{name}/toxics",
            "-d",
            '{"type":"latency","attributes":{"latency":10}}',
        ],
        capture_output=True,
        check=True,
        timeout=10,
    )
    body, status = proc.stdout.rsplit(b"\n", 1)
    assert status == b"200" and json.loads(body)["name"] == "latency_downstream"
