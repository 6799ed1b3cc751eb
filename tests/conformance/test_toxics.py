"""Measured effects of every toxic on real loopback TCP connections through the proxy."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import pytest

from ._servers import connect, recv_all, recv_exactly, round_trip_s, send_then_close
from .conftest import Api, listen_port

TOL_S = 0.08  # generous tolerance on timing effects (shared 2-core machines)


def _baseline(sock: socket.socket) -> float:
    return min(round_trip_s(sock) for _ in range(3))


def test_latency_downstream(api: Api, echo_proxy: dict, client: socket.socket) -> None:
    """200 ms downstream latency adds about 200 ms to a round trip."""
    base = _baseline(client)
    api.add_toxic(echo_proxy, type="latency", attributes={"latency": 200})
    added = round_trip_s(client) - base
    assert 0.2 - 0.01 <= added <= 0.2 + TOL_S


def test_latency_both_streams(api: Api, echo_proxy: dict, client: socket.socket) -> None:
    """200 ms latency on both streams adds about 400 ms to a round trip."""
    base = _baseline(client)
    for stream in ("upstream", "downstream"):
        api.add_toxic(echo_proxy, type="latency", stream=stream, attributes={"latency": 200})
    added = round_trip_s(client) - base
    assert 0.4 - 0.01 <= added <= 0.4 + TOL_S


def test_latency_not_on_connect(api: Api, echo_proxy: dict) -> None:
    """Connecting is not delayed by a latency toxic."""
    for stream in ("upstream", "downstream"):
        api.add_toxic(echo_proxy, type="latency", stream=stream, attributes={"latency": 500})
    start = time.perf_counter()
    with connect(listen_port(echo_proxy)):
        assert time.perf_counter() - start < 0.2


def test_latency_chunks_not_queued(api: Api, echo_proxy: dict, client: socket.socket) -> None:
    """Each chunk is delayed from its own arrival, not queued behind earlier chunks."""
    api.add_toxic(echo_proxy, type="latency", attributes={"latency": 200})
    sent_at = []
    start = time.perf_counter()
    for _ in range(5):
        sent_at.append(time.perf_counter())
        client.sendall(b"abcd")
        time.sleep(0.05)
    recv_exactly(client, 20)
    total = time.perf_counter() - start
    assert total <= 0.2 + 0.05 * 4 + TOL_S + 0.05  # far below 5 * 200 ms


def test_latency_jitter_range(api: Api, echo_proxy: dict, client: socket.socket) -> None:
    """Latency 100 ms with jitter 50 ms gives round trips within 50..150 ms that vary."""
    base = _baseline(client)
    api.add_toxic(echo_proxy, type="latency", attributes={"latency": 100, "jitter": 50})
    added = [round_trip_s(client) - base for _ in range(12)]
    assert all(0.05 - 0.01 <= a <= 0.15 + TOL_S for a in added), added
    assert max(added) - min(added) > 0.01, added


def test_toxic_added_to_open_connection(api: Api, echo_proxy: dict, client: socket.socket) -> None:
    """A toxic added while a connection is open applies to it, and removal lifts it."""
    assert _baseline(client) < 0.1
    api.add_toxic(echo_proxy, name="late", type="latency", attributes={"latency": 150})
    assert round_trip_s(client) >= 0.14
    api.request("DELETE", f"/proxies/{echo_proxy['name']}/toxics/late")
    assert round_trip_s(client) < 0.1


def test_toxic_update_applies(api: Api, echo_proxy: dict, client: socket.socket) -> None:
    """Updating a toxic's attributes changes its effect on an open connection."""
    api.add_toxic(echo_proxy, name="lat", type="latency", attributes={"latency": 50})
    assert round_trip_s(client) >= 0.045
    api.request(
        "POST", f"/proxies/{echo_proxy['name']}/toxics/lat", json={"attributes": {"latency": 200}}
    )
    assert round_trip_s(client) >= 0.19


def _pump(sock: socket.socket, payload: bytes) -> threading.Thread:
    def send() -> None:
        sock.sendall(payload)  # no half-close: Toxiproxy would end the connection

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


def test_bandwidth_limits_throughput(api: Api, echo_proxy: dict, client: socket.socket) -> None:
    """A 500 KB/s downstream bandwidth toxic makes 250 KB take about 0.5 s."""
    api.add_toxic(echo_proxy, type="bandwidth", attributes={"rate": 500})
    payload = b"b" * 250_000
    start = time.perf_counter()
    sender = _pump(client, payload)
    got = recv_exactly(client, len(payload))
    elapsed = time.perf_counter() - start
    sender.join(5)
    assert got == payload
    assert 0.4 <= elapsed <= 1.2, elapsed


def test_slow_close(api: Api, oneshot_factory) -> None:
    """slow_close delays the close seen by the client by `delay` ms."""
    upstream = oneshot_factory(send_then_close(b"bye"))
    proxy = api.create_proxy(upstream.address)
    api.add_toxic(proxy, type="slow_close", attributes={"delay": 300})
    start = time.perf_counter()
    with connect(listen_port(proxy)) as sock:
        assert recv_all(sock) == b"bye"
    assert 0.3 - 0.01 <= time.perf_counter() - start <= 0.3 + TOL_S + 0.1


def test_timeout_closes(api: Api, echo_proxy: dict, client: socket.socket) -> None:
    """timeout 300 ms stops data and closes the connection after about 300 ms."""
    start = time.perf_counter()
    api.add_toxic(echo_proxy, type="timeout", attributes={"timeout": 300})
    client.sendall(b"lost")
    try:
        assert recv_all(client) == b""
    except ConnectionResetError:
        pass
    assert 0.25 <= time.perf_counter() - start <= 0.3 + TOL_S + 0.2


def test_timeout_zero_holds(api: Api, echo_proxy: dict, client: socket.socket) -> None:
    """timeout 0 keeps the connection open and drops data; removing it closes the connection.

    Toxiproxy's timeout toxic closes its stub on cleanup, so the connections it held
    end (EOF) when it is removed; new connections pass data again.
    """
    api.add_toxic(echo_proxy, name="hold", type="timeout", attributes={"timeout": 0})
    client.sendall(b"dropped")
    client.settimeout(0.4)
    with pytest.raises(TimeoutError):
        client.recv(10)
    api.request("DELETE", f"/proxies/{echo_proxy['name']}/toxics/hold")
    client.settimeout(5)
    try:
        assert recv_all(client) == b""
    except ConnectionResetError:
        pass
    with connect(listen_port(echo_proxy)) as fresh:
        assert round_trip_s(fresh, b"after") < 0.2


def test_timeout_is_an_idle_timeout(api: Api, echo_proxy: dict, client: socket.socket) -> None:
    """The timeout starts again with each chunk it drops: steady data keeps it open."""
    api.add_toxic(echo_proxy, type="timeout", attributes={"timeout": 300})
    client.settimeout(0.15)
    for _ in range(5):  # 0.75 s, a chunk every 0.15 s
        client.sendall(b"x")
        with pytest.raises(TimeoutError):
            client.recv(10)
    start = time.perf_counter()
    client.settimeout(5)
    try:
        assert recv_all(client) == b""
    except ConnectionResetError:
        pass
    assert time.perf_counter() - start <= 0.3 + TOL_S + 0.1


def test_reset_peer(api: Api, echo_proxy: dict) -> None:
    """reset_peer closes connections opened after it with a TCP RST (ConnectionResetError)."""
    api.add_toxic(echo_proxy, type="reset_peer", stream="upstream", attributes={"timeout": 0})
    with connect(listen_port(echo_proxy)) as client:
        client.sendall(b"x")
        with pytest.raises(ConnectionResetError):
            for _ in range(50):
                if client.recv(10) == b"":
                    break
                time.sleep(0.01)


def test_reset_peer_after_timeout(api: Api, echo_proxy: dict) -> None:
    """reset_peer with timeout 200 resets about 200 ms after data arrives."""
    api.add_toxic(echo_proxy, type="reset_peer", stream="upstream", attributes={"timeout": 200})
    with connect(listen_port(echo_proxy)) as client:
        start = time.perf_counter()
        client.sendall(b"x")
        with pytest.raises(ConnectionResetError):
            client.recv(10)
        assert 0.19 <= time.perf_counter() - start <= 0.2 + TOL_S + 0.1


def test_reset_peer_on_open_connection_closes(
    api: Api, echo_proxy: dict, client: socket.socket
) -> None:
    """A reset_peer added to an open connection closes it, but with FIN, not RST.

    Toxiproxy sets SO_LINGER 0 only when a connection starts with the toxic present.
    """
    round_trip_s(client)
    api.add_toxic(echo_proxy, type="reset_peer", stream="upstream", attributes={"timeout": 0})
    client.sendall(b"x")
    assert recv_all(client) == b""


def test_first_eof_closes_the_connection(api: Api, oneshot_factory) -> None:
    """A client's half-close ends the whole connection: the server's late reply is lost."""

    def late_reply(conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while conn.recv(1024):
                pass
            time.sleep(1.0)
            conn.sendall(b"late")

    proxy = api.create_proxy(oneshot_factory(late_reply).address)
    with connect(listen_port(proxy)) as sock:
        sock.sendall(b"request")
        sock.shutdown(socket.SHUT_WR)
        start = time.perf_counter()
        try:
            assert recv_all(sock) == b""
        except ConnectionResetError:
            pass
        assert time.perf_counter() - start < 0.5


def test_limit_data(api: Api, echo_proxy: dict, client: socket.socket) -> None:
    """limit_data closes the connection after `bytes` bytes."""
    api.add_toxic(echo_proxy, type="limit_data", attributes={"bytes": 100})
    client.sendall(bytes(range(250)) * 4)
    got = b""
    try:
        got = recv_all(client)
    except ConnectionResetError:
        pass
    assert got == (bytes(range(250)) * 4)[:100]


def test_limit_data_upstream(api: Api, echo_proxy: dict, client: socket.socket) -> None:
    """limit_data on the upstream stream lets through only `bytes` bytes to the server."""
    api.add_toxic(echo_proxy, type="limit_data", stream="upstream", attributes={"bytes": 10})
    client.sendall(b"0123456789abcdef")
    got = b""
    try:
        got = recv_all(client)
    except ConnectionResetError:
        pass
    assert got in (b"0123456789", b"")  # the server may not echo before the close
    assert len(got) <= 10


def test_slicer_many_small_chunks(api: Api, echo_proxy: dict, client: socket.socket) -> None:
    """slicer delivers data intact in many small chunks."""
    api.add_toxic(
        echo_proxy,
        type="slicer",
        attributes={"average_size": 10, "size_variation": 4, "delay": 2000},
    )
    payload = bytes(range(256)) * 4
    client.sendall(payload)
    chunks = []
    total = 0
    while total < len(payload):
        chunk = client.recv(4096)
        assert chunk
        chunks.append(chunk)
        total += len(chunk)
    assert b"".join(chunks) == payload
    assert len(chunks) >= 20, len(chunks)
    assert max(len(c) for c in chunks) < 200


def test_toxicity_half(api: Api, echo_proxy: dict) -> None:
    """Toxicity 0.5 affects roughly half the connections, each consistently."""
    api.add_toxic(echo_proxy, type="latency", toxicity=0.5, attributes={"latency": 60})
    slow = 0
    for _ in range(40):
        with connect(listen_port(echo_proxy)) as sock:
            first, second = round_trip_s(sock) > 0.05, round_trip_s(sock) > 0.05
            assert first == second, "toxicity must be decided once per connection"
            slow += first
    assert 8 <= slow <= 32, slow


def test_enabled_false_closes_open_connections(
    api: Api, echo_proxy: dict, client: socket.socket
) -> None:
    """Taking a proxy down closes open connections and refuses new ones."""
    round_trip_s(client)
    api.request("POST", f"/proxies/{echo_proxy['name']}", json={"enabled": False})
    try:
        assert recv_all(client) == b""
    except ConnectionResetError:
        pass
    with pytest.raises(ConnectionRefusedError):
        connect(listen_port(echo_proxy)).close()


def test_latency_toxics_add_up(api: Api, echo_proxy: dict, client: socket.socket) -> None:
    """Two latency toxics on one stream add up (100 + 50 ms), as Toxiproxy's chain does."""
    base = _baseline(client)
    api.add_toxic(echo_proxy, name="a", type="latency", attributes={"latency": 100})
    api.add_toxic(echo_proxy, name="b", type="latency", attributes={"latency": 50})
    added = round_trip_s(client) - base
    assert 0.15 - 0.01 <= added <= 0.15 + TOL_S
