"""toxiserver connections: a toxic that raises closes the connection instead of leaking it."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from fault_helpers import echo_server

from harness.faults import ProxySpec, Stream, ToxicSpec, ToxiproxyAdapter

toxiserver = pytest.importorskip("toxiserver")
from toxiserver import _toxics  # noqa: E402 (after the importorskip)


async def _explode(*_args: object) -> None:
    raise RuntimeError("a toxic with a bug")


@pytest.fixture
def proxied(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[ToxiproxyAdapter, str]]:
    """A proxy 'p' to an echo server whose 'latency' toxic raises RuntimeError."""
    broken = _toxics.ToxicType("latency", ("latency", "jitter"), "LatencyToxic", _explode)
    monkeypatch.setitem(_toxics.TOXIC_TYPES, "latency", broken)
    with echo_server() as upstream, toxiserver.ToxiproxyServer(host="127.0.0.1") as srv:
        adapter = ToxiproxyAdapter(srv.url)
        made = adapter.ensure_proxies([ProxySpec("p", upstream)])
        yield adapter, made["p"].listen


def test_toxic_raising_closes_both_ends(
    proxied: tuple[ToxiproxyAdapter, str], caplog: pytest.LogCaptureFixture
) -> None:
    """The client sees the connection closed (not a hang), and the error is logged."""
    adapter, listen = proxied
    adapter.add_toxic("p", ToxicSpec("bug", "latency", Stream.DOWNSTREAM, 1.0, {"latency": 1}))
    host, _, port = listen.rpartition(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"ping")
        try:
            got = sock.recv(100)  # the echo comes back downstream, through the broken toxic
        except ConnectionResetError:
            got = b""
        except TimeoutError:
            pytest.fail("the connection hung: a toxic's exception did not close it")
        assert got == b""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and "a toxic with a bug" not in caplog.text:
        time.sleep(0.02)
    assert "closing the connection" in caplog.text and "a toxic with a bug" in caplog.text
