"""Watchers keep one connection per peer, and tell a slow target from a gone one."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from harness.clock import DrillClock
from harness.drill.model import LivenessSpec, TargetSpec
from harness.drill.target import Reachability, TargetClient, wait_healthy
from harness.drill.watch import TargetWatch
from harness.errors import TargetUnreachable
from harness.faults.adapter import ToxiproxyAdapter


class _CountingServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.connections = 0
        self.requests = 0


class _Handler(BaseHTTPRequestHandler):
    """Keep-alive HTTP/1.1; counts connections (one handler per connection) and requests."""

    protocol_version = "HTTP/1.1"
    server: _CountingServer

    def setup(self) -> None:
        super().setup()
        self.server.connections += 1

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.server.requests += 1
        body = b'{"version": "2.7.0"}' if self.path == "/version" else b"ok"
        status = {"/broken": 500, "/": 302}.get(self.path, 200)
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[_CountingServer]:
    httpd = _CountingServer()
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def _url(server: _CountingServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def test_target_client_probes_over_one_long_lived_connection(server: _CountingServer) -> None:
    """Ten health probes are ten requests on one TCP connection (the server's own count)."""
    with TargetClient(TargetSpec(url=_url(server)), timeout_s=2.0) as client:
        results = [client.probe() for _ in range(10)]
    assert results == [Reachability.ANSWERED] * 10
    assert (server.requests, server.connections) == (10, 1)


def test_toxiproxy_adapter_asks_its_version_over_one_connection(server: _CountingServer) -> None:
    """The once-a-second Toxiproxy watch reuses one connection (no client built per call)."""
    with ToxiproxyAdapter(_url(server)) as adapter:
        versions = {adapter.version() for _ in range(10)}
    assert versions == {"2.7.0"}
    assert (server.requests, server.connections) == (10, 1)


def test_any_http_status_counts_as_an_answer(server: _CountingServer) -> None:
    """A 500 from the health path is an answer: the target is there (the checks judge the rest)."""
    with TargetClient(TargetSpec(url=_url(server), health_path="/broken"), timeout_s=2.0) as c:
        assert c.probe() is Reachability.ANSWERED


def test_refused_connections_and_silent_servers_are_told_apart() -> None:
    """Nobody listening: REFUSED. Listening but never answering: SLOW (alive, not gone)."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # held but not listening: connections are refused
        with TargetClient(TargetSpec(url=f"http://127.0.0.1:{port}"), timeout_s=0.3) as client:
            assert client.probe() is Reachability.REFUSED
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # the kernel completes the handshake; nobody ever answers
        port = silent.getsockname()[1]
        with TargetClient(TargetSpec(url=f"http://127.0.0.1:{port}"), timeout_s=0.3) as client:
            assert client.probe() is Reachability.SLOW


class _Journal:
    def __init__(self) -> None:
        self.notes: list[str] = []

    def note(self, message: str, **_: object) -> None:
        self.notes.append(message)


def _watch(give_up_s: float = 5.0) -> tuple[TargetWatch, list[str], _Journal]:
    gone: list[str] = []
    journal = _Journal()
    watch = TargetWatch(
        TargetClient(TargetSpec(url="http://127.0.0.1:9"), timeout_s=1.0),
        LivenessSpec(give_up_s=give_up_s),
        DrillClock.started_at(0.0),
        journal,  # type: ignore[arg-type]
        gone.append,
    )
    return watch, gone, journal


def test_slow_answers_never_give_up_on_the_target() -> None:
    """A minute of slow probes is noted once and never makes the run inconclusive."""
    watch, gone, journal = _watch()
    for second in range(60):
        watch.observe(Reachability.SLOW, float(second))
    assert gone == []
    assert len(journal.notes) == 1 and "slow, still judged" in journal.notes[0]
    watch.observe(Reachability.ANSWERED, 60.0)
    assert "again" in journal.notes[-1]
    watch.close()


def test_refused_for_give_up_s_is_gone_and_an_answer_resets_the_count() -> None:
    """Refused 0..4 s, answered, refused again 5..10 s: gone only at 10 s (5 s after 5 s)."""
    watch, gone, _ = _watch(give_up_s=5.0)
    for t in range(5):
        watch.observe(Reachability.REFUSED, float(t))
    watch.observe(Reachability.ANSWERED, 4.5)
    for t in range(5, 10):
        watch.observe(Reachability.REFUSED, float(t))
    assert gone == []
    watch.observe(Reachability.REFUSED, 10.0)
    assert len(gone) == 1 and "refused connections for 5 s" in gone[0]
    watch.close()


def test_the_drill_clock_counts_from_one_start() -> None:
    """Drill time is 0 at start(); a wall-clock instant converts; starting twice is a bug."""
    ticks = iter([100.0, 102.5])
    clock = DrillClock(monotonic=lambda: next(ticks), wall=lambda: 1_000.0)
    assert not clock.started
    clock.start()
    assert clock.now_s() == 2.5
    assert clock.since_t0_s(1_003.0) == 3.0
    with pytest.raises(RuntimeError, match="twice"):
        clock.start()


def test_without_a_health_path_any_answer_below_500_from_root_is_healthy(
    server: _CountingServer,
) -> None:
    """No health_path: '/' answering 302 (a login redirect) is a running app; with one, 2xx only."""
    wait_healthy(TargetSpec(url=_url(server)), timeout_s=1.0)
    wait_healthy(TargetSpec(url=_url(server), health_path="/ok"), timeout_s=1.0)
    for path in ("/", "/broken"):
        with pytest.raises(TargetUnreachable, match=f"health check .*{path} failed"):
            wait_healthy(TargetSpec(url=_url(server), health_path=path), timeout_s=0.3)
