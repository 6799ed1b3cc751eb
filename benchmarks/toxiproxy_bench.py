"""Benchmark: latency and throughput added by toxiserver with no toxics (not a test).

Run: .venv/bin/python benchmarks/toxiproxy_bench.py [--iterations 5000] [--mb 200]
           [--subprocess]

Measures, over loopback, request/response round trips (p50/p99, direct vs
proxied) against an echo server and bulk throughput (MB/s, direct vs proxied)
against a sink server, and prints a table with the ratios.
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from toxiserver import ToxiproxyServer, start_subprocess


def _serve(handler) -> tuple[socket.socket, int]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=handler, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return listener, listener.getsockname()[1]


def _echo(conn: socket.socket) -> None:
    with conn:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while data := conn.recv(65536):
            conn.sendall(data)


def _split_reply(conn: socket.socket) -> None:
    """Answer each 64-byte request like an HTTP server: a head, then 1 ms later the body.

    Through a proxy whose client-side socket lacks TCP_NODELAY, the second write waits
    for the client's delayed ACK (~40 ms): this row exposes that.
    """
    with conn:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while data := conn.recv(65536):
            conn.sendall(data[:32])
            time.sleep(0.001)
            conn.sendall(data[32:])


def _sink(conn: socket.socket) -> None:
    with conn:
        total = 0
        while data := conn.recv(1 << 20):
            total += len(data)
        conn.sendall(str(total).encode())


def round_trips_us(port: int, iterations: int, size: int = 64) -> list[float]:
    payload = b"x" * size
    samples = []
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(iterations + 100):
            start = time.perf_counter_ns()
            sock.sendall(payload)
            got = 0
            while got < size:
                got += len(sock.recv(size - got))
            if i >= 100:  # warm-up
                samples.append((time.perf_counter_ns() - start) / 1000)
    return samples


def throughput_mb_s(port: int, total_mb: int) -> float:
    block = os.urandom(1 << 20)
    with socket.create_connection(("127.0.0.1", port)) as sock:
        start = time.perf_counter()
        for _ in range(total_mb):
            sock.sendall(block)
        sock.shutdown(socket.SHUT_WR)
        ack = sock.recv(64)
        elapsed = time.perf_counter() - start
    assert int(ack) == total_mb << 20, ack
    return total_mb * 1.048576 / elapsed


def percentile(samples: list[float], q: float) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[int(q) - 1]


@contextmanager
def server_url(use_subprocess: bool) -> Iterator[str]:
    if use_subprocess:
        with start_subprocess() as proc:
            yield proc.url
    else:
        with ToxiproxyServer() as srv:
            yield srv.url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=5000)
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument(
        "--subprocess",
        action="store_true",
        help="run toxiserver as a separate process (default: in-process)",
    )
    args = parser.parse_args()

    echo_listener, echo_port = _serve(_echo)
    split_listener, split_port = _serve(_split_reply)
    sink_listener, sink_port = _serve(_sink)
    try:
        with server_url(args.subprocess) as url, httpx.Client(base_url=url) as http:
            ports = {}
            upstreams = (("echo", echo_port), ("split", split_port), ("sink", sink_port))
            for name, upstream in upstreams:
                resp = http.post(
                    "/proxies",
                    json={
                        "name": name,
                        "listen": "127.0.0.1:0",
                        "upstream": f"127.0.0.1:{upstream}",
                    },
                )
                ports[name] = int(resp.json()["listen"].rsplit(":", 1)[1])
            direct = round_trips_us(echo_port, args.iterations)
            proxied = round_trips_us(ports["echo"], args.iterations)
            split_n = max(args.iterations // 20, 50)
            split_direct = round_trips_us(split_port, split_n)
            split_proxied = round_trips_us(ports["split"], split_n)
            tput_direct = throughput_mb_s(sink_port, args.mb)
            tput_proxied = throughput_mb_s(ports["sink"], args.mb)
    finally:
        echo_listener.close()
        split_listener.close()
        sink_listener.close()

    mode = "subprocess" if args.subprocess else "in-process (client and server share the GIL)"
    print(f"toxiserver benchmark - {platform.python_version()}, {os.cpu_count()} CPUs, {mode}")
    print(f"round trips: {args.iterations} x 64 B; bulk: {args.mb} MiB one way\n")
    print(f"{'metric':<22}{'direct':>12}{'proxied':>12}{'ratio':>9}{'added':>12}")
    for label, q in (("p50 RTT (us)", 50), ("p99 RTT (us)", 99)):
        d, p = percentile(direct, q), percentile(proxied, q)
        print(f"{label:<22}{d:>12.1f}{p:>12.1f}{p / d:>9.2f}{p - d:>12.1f}")
    d, p = percentile(split_direct, 50), percentile(split_proxied, 50)
    print(f"{'p50 split reply (us)':<22}{d:>12.1f}{p:>12.1f}{p / d:>9.2f}{p - d:>12.1f}")
    print(
        f"{'throughput (MB/s)':<22}{tput_direct:>12.1f}{tput_proxied:>12.1f}"
        f"{tput_proxied / tput_direct:>9.2f}{'':>12}"
    )


if __name__ == "__main__":
    main()
