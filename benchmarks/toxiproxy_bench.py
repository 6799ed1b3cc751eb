"""Benchmark: latency and throughput added by toxiserver, alone or beside other servers (not a test).

Run: .venv/bin/python benchmarks/toxiproxy_bench.py [--iterations 5000] [--mb 200]
           [--subprocess]

Measures, over loopback, request/response round trips (p50/p99, direct vs
proxied) against an echo server and bulk throughput (MB/s, direct vs proxied)
against a sink server, and prints a table with the ratios.

Side by side (one run, servers interleaved round by round, medians over rounds):

    .venv/bin/python benchmarks/toxiproxy_bench.py --rounds 5 \
        --server embedded=embedded --server toxiproxy=/path/to/toxiproxy-server

A server is `NAME=SPEC`: SPEC `embedded` starts toxiserver as a subprocess, an
`http://` URL uses a running server, anything else is an executable started as
`SPEC -host 127.0.0.1 -port P` (a Toxiproxy binary) and stopped afterwards.
Each round measures, per server, the direct and proxied round trips next to each
other (so "added" compares like with like), the p99 of each of `--latency-conns`
connections doing round trips through a `--latency-ms` downstream latency toxic
(median over the connections), and bulk throughput. Ratios are to the last
server (or `--reference`).
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import platform
import selectors
import socket
import statistics
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from toxiserver import ToxiproxyServer, start_subprocess


def _serve(handler) -> tuple[socket.socket, int]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1024)  # 16 dropped SYNs (1 s retransmit) when 50 connections arrive at once

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
    """Read an 8-byte length, then that many bytes; answer the count.

    No half-close: Toxiproxy (and toxiserver) end the whole connection at the first EOF.
    """
    with conn:
        head = b""
        while len(head) < 8:
            if not (data := conn.recv(8 - len(head))):
                return
            head += data
        expected, total = int.from_bytes(head, "big"), 0
        while total < expected and (data := conn.recv(1 << 20)):
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
        sock.sendall((total_mb << 20).to_bytes(8, "big"))
        for _ in range(total_mb):
            sock.sendall(block)
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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def started_server(spec: str) -> Iterator[str]:
    """A server's API URL: `embedded` (subprocess), an http:// URL, or a binary to start."""
    if spec == "embedded":
        with start_subprocess() as proc:
            yield proc.url
        return
    if spec.startswith(("http://", "https://")):
        yield spec.rstrip("/")
        return
    port = _free_port()
    proc = subprocess.Popen(
        [spec, "-host", "127.0.0.1", "-port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                httpx.get(url + "/version", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{spec} did not start (exit {proc.poll()})") from None
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _make_proxy(http: httpx.Client, name: str, upstream: int) -> int:
    http.delete(f"/proxies/{name}")
    resp = http.post(
        "/proxies",
        json={"name": name, "listen": "127.0.0.1:0", "upstream": f"127.0.0.1:{upstream}"},
    )
    resp.raise_for_status()
    return int(resp.json()["listen"].rsplit(":", 1)[1])


def _tail_client(port: int, conns: int, trips: int, out: Any) -> None:
    """In a child process: `conns` connections on one selector thread, `trips` each."""
    sel = selectors.DefaultSelector()
    socks = []
    for _ in range(conns):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        socks.append(sock)
    samples: dict[int, list[float]] = {i: [] for i in range(conns)}
    state = {}
    payload = b"x" * 64
    for i, sock in enumerate(socks):
        sel.register(sock, selectors.EVENT_READ, i)
        state[i] = [time.perf_counter(), 0]
        sock.send(payload)
    left = conns
    while left:
        for key, _ in sel.select(5):
            i = key.data
            now = time.perf_counter()
            got = key.fileobj.recv(64)  # type: ignore[union-attr]
            if not got:
                raise RuntimeError("proxy closed a toxic connection")
            state[i][1] += len(got)
            if state[i][1] < 64:
                continue
            samples[i].append((now - state[i][0]) * 1000)
            if len(samples[i]) == trips + 1:  # the first trip (a warm-up) is dropped below
                sel.unregister(key.fileobj)
                left -= 1
                continue
            state[i] = [time.perf_counter(), 0]
            key.fileobj.send(payload)  # type: ignore[union-attr]
    for sock in socks:
        sock.close()
    out.send([percentile(v[1:], 99) for v in samples.values()])


def toxic_tail_ms(port: int, conns: int, trips: int) -> float:
    """Median over `conns` concurrent connections of each one's p99 round trip (ms).

    The client runs in a child process on one selector thread (not a thread per
    connection in this process, whose GIL hand-offs would add their own tail).
    """
    ctx = multiprocessing.get_context("fork")
    here, there = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_tail_client, args=(port, conns, trips, there))
    child.start()
    try:
        if not here.poll(trips * 2 + 30):
            raise RuntimeError("toxic tail client gave no answer")
        p99s = here.recv()
    finally:
        child.join(10)
        if child.is_alive():
            child.kill()
            child.join()
    return statistics.median(p99s)


def compare(args: argparse.Namespace) -> None:
    """Measure every --server round by round, interleaved; print medians and ratios."""
    servers = [item.split("=", 1) for item in args.server]
    reference = args.reference or servers[-1][0]
    echo_listener, echo_port = _serve(_echo)
    sink_listener, sink_port = _serve(_sink)
    figures: dict[str, dict[str, list[float]]] = {name: {} for name, _ in servers}
    direct_tail: list[float] = []

    def note(name: str, key: str, value: float) -> None:
        figures[name].setdefault(key, []).append(value)

    try:
        with contextlib.ExitStack() as stack:
            clients = {}
            for name, spec in servers:
                url = stack.enter_context(started_server(spec))
                http = stack.enter_context(httpx.Client(base_url=url, timeout=10))
                version = http.get("/version").text.strip()
                print(f"{name}: {spec} -> {url} {version}")
                clients[name] = http
            ports = {
                name: {
                    "echo": _make_proxy(http, "bench_echo", echo_port),
                    "tail": _make_proxy(http, "bench_tail", echo_port),
                    "sink": _make_proxy(http, "bench_sink", sink_port),
                }
                for name, http in clients.items()
            }
            for http in clients.values():
                http.post(
                    "/proxies/bench_tail/toxics",
                    json={"type": "latency", "attributes": {"latency": args.latency_ms}},
                ).raise_for_status()
            names = [name for name, _ in servers]
            for rnd in range(args.rounds):
                order = names[rnd % len(names) :] + names[: rnd % len(names)]
                if args.latency_conns:  # the client's own floor: no proxy, no toxic
                    direct_tail.append(toxic_tail_ms(echo_port, args.latency_conns, args.trips))
                for name in order:
                    direct = round_trips_us(echo_port, args.iterations)
                    proxied = round_trips_us(ports[name]["echo"], args.iterations)
                    for q in (50, 99):
                        d, p = percentile(direct, q), percentile(proxied, q)
                        note(name, f"direct p{q}", d)
                        note(name, f"p{q}", p)
                        note(name, f"added p{q}", p - d)
                    if args.latency_conns:
                        tail = toxic_tail_ms(ports[name]["tail"], args.latency_conns, args.trips)
                        note(name, "tail", tail)
                    if args.mb:
                        note(name, "tput", throughput_mb_s(ports[name]["sink"], args.mb))
                    f = figures[name]
                    print(
                        f"round {rnd + 1} {name:<12} p50 {f['p50'][-1]:8.1f} us"
                        f" (direct {f['direct p50'][-1]:6.1f}, added {f['added p50'][-1]:6.1f})"
                        f"  p99 {f['p99'][-1]:8.1f} us"
                        + (f"  tail {f['tail'][-1]:7.2f} ms" if args.latency_conns else "")
                        + (f"  {f['tput'][-1]:7.1f} MB/s" if args.mb else ""),
                        flush=True,
                    )
            for http in clients.values():
                for proxy in ("bench_echo", "bench_tail", "bench_sink"):
                    http.delete(f"/proxies/{proxy}")
    finally:
        echo_listener.close()
        sink_listener.close()

    rows = [
        ("p50 RTT (us)", "p50", "{:.1f}"),
        ("added p50 (us)", "added p50", "{:.1f}"),
        ("p99 RTT (us)", "p99", "{:.1f}"),
        ("added p99 (us)", "added p99", "{:.1f}"),
    ]
    if args.latency_conns:
        rows.append(
            (f"{args.latency_ms} ms toxic: median p99 (ms)", "tail", "{:.2f}"),
        )
    if args.mb:
        rows.append(("throughput (MB/s)", "tput", "{:.1f}"))
    cpus = os.cpu_count()
    print(f"\n{platform.python_version()}, {cpus} CPUs, load average {os.getloadavg()[0]:.1f}")
    print(
        f"{args.rounds} rounds, median over rounds (min-max); round trips {args.iterations} x 64 B;"
        f" toxic: {args.latency_conns} connections x {args.trips} trips; bulk {args.mb} MiB"
    )
    direct = [v for n in figures for v in figures[n]["direct p50"]]
    print(f"direct p50 RTT (us): {statistics.median(direct):.1f}")
    if direct_tail:
        print(
            f"direct, {args.latency_conns} connections at once: median p99 RTT (ms)"
            f" {statistics.median(direct_tail):.2f} ({min(direct_tail):.2f}-{max(direct_tail):.2f})"
        )
    header = f"{'metric':<34}" + "".join(f"{name:>24}" for name, _ in servers)
    header += f"{'ratio to ' + reference:>22}" if len(servers) > 1 else ""
    print(header)
    for label, key, fmt in rows:
        line = f"{label:<34}"
        medians = {}
        for name, _ in servers:
            values = figures[name][key]
            medians[name] = statistics.median(values)
            cell = (
                f"{fmt.format(medians[name])} ({fmt.format(min(values))}-{fmt.format(max(values))})"
            )
            line += f"{cell:>24}"
        if len(servers) > 1:
            ref = medians[reference]
            ratios = [
                f"{medians[n] / ref:.2f}" if ref else "-" for n, _ in servers if n != reference
            ]
            line += f"{' / '.join(ratios):>22}"
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=5000)
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument(
        "--subprocess",
        action="store_true",
        help="run toxiserver as a separate process (default: in-process)",
    )
    parser.add_argument(
        "--server",
        action="append",
        default=[],
        metavar="NAME=SPEC",
        help="compare servers side by side: SPEC is 'embedded', an http:// URL or a binary",
    )
    parser.add_argument("--reference", help="server the ratios divide by (default: the last)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--latency-conns", type=int, default=50)
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--trips", type=int, default=50, help="round trips per toxic connection")
    args = parser.parse_args()
    if args.server:
        compare(args)
        return

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
