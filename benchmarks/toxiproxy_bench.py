"""Benchmark: latency and throughput added by toxiserver, alone or beside other servers (not a test).

Run: .venv/bin/python benchmarks/toxiproxy_bench.py [--iterations 5000] [--mb 200]
           [--subprocess] [--smoke]

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
(median over the connections), the rate of small requests (`--rate-conns`
connections at once, each doing 64-byte round trips as fast as it can for
`--rate-s` seconds, from one selector in a child process; direct and proxied
next to each other; the CPU the server process used in the same window if this
script started it), and bulk throughput. Ratios are to the last server (or
`--reference`). `--smoke`: one round of small counts, a few seconds.
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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import psutil

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


class SelectorEcho:
    """An echo server on one selector thread, for ping-pong: a reply must fit the send buffer.

    The rate measurement uses it: `_echo`'s thread per connection spends about a
    core on GIL hand-offs with 50 connections busy, one selector thread about a
    third of that for more round trips.
    """

    def __init__(self) -> None:
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(1024)
        self._listener.setblocking(False)
        self.port: int = self._listener.getsockname()[1]
        self._wake, self._waker = socket.socketpair()
        self._sel = selectors.DefaultSelector()
        self._sel.register(self._listener, selectors.EVENT_READ)
        self._sel.register(self._wake, selectors.EVENT_READ)
        self._thread = threading.Thread(target=self._run, name="rate-echo", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while True:
                for key, _ in self._sel.select():
                    sock: socket.socket = key.fileobj  # type: ignore[assignment]
                    if sock is self._wake:
                        return
                    if sock is self._listener:
                        with contextlib.suppress(BlockingIOError):
                            conn, _ = sock.accept()
                            conn.setblocking(False)
                            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                            self._sel.register(conn, selectors.EVENT_READ)
                        continue
                    try:
                        data = sock.recv(65536)
                        if data:
                            sock.sendall(data)
                            continue
                    except OSError:
                        pass
                    self._sel.unregister(sock)
                    sock.close()
        finally:
            for key in list(self._sel.get_map().values()):
                key.fileobj.close()  # type: ignore[union-attr]
            self._sel.close()

    def close(self) -> None:
        """Stop the thread and close every socket; safe to call twice."""
        with contextlib.suppress(OSError):
            self._waker.send(b"x")
        self._thread.join(5)
        self._waker.close()


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
def started_server(spec: str) -> Iterator[tuple[str, int | None]]:
    """A server's API URL and pid: `embedded` (subprocess), an http:// URL (no pid), or a binary."""
    if spec == "embedded":
        with start_subprocess() as proc:
            yield proc.url, proc.pid
        return
    if spec.startswith(("http://", "https://")):
        yield spec.rstrip("/"), None
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
        yield url, proc.pid
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


def _connect_all(port: int, conns: int) -> list[socket.socket]:
    """`conns` non-blocking TCP_NODELAY connections to `port` (all closed if one fails)."""
    socks: list[socket.socket] = []
    try:
        for _ in range(conns):
            sock = socket.create_connection(("127.0.0.1", port))
            socks.append(sock)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setblocking(False)
    except BaseException:
        for sock in socks:
            sock.close()
        raise
    return socks


def _ping_pong(
    socks: list[socket.socket], trips: int | None = None, until: float | None = None
) -> list[list[float]]:
    """Every socket sends 64 B and waits for them back, again, all on one selector.

    A connection stops after `trips` round trips or at the first reply after
    `until` (a `perf_counter()` time): trips in flight then are finished and kept.
    Returns each connection's round trips (ms).
    """
    payload = b"x" * 64
    rtts_ms: list[list[float]] = [[] for _ in socks]
    sent_at = [0.0] * len(socks)
    got = [0] * len(socks)
    with selectors.DefaultSelector() as sel:
        for i, sock in enumerate(socks):
            sel.register(sock, selectors.EVENT_READ, i)
            sent_at[i] = time.perf_counter()
            sock.send(payload)
        left = len(socks)
        while left:
            events = sel.select(5)
            if not events:
                raise RuntimeError(f"no reply on any of {left} connections for 5 s")
            for key, _ in events:
                i, sock = key.data, key.fileobj
                now = time.perf_counter()
                data = sock.recv(64)  # type: ignore[union-attr]
                if not data:
                    raise RuntimeError("the server closed a connection")
                got[i] += len(data)
                if got[i] < 64:
                    continue
                got[i] = 0
                rtts_ms[i].append((now - sent_at[i]) * 1000)
                if len(rtts_ms[i]) == trips or (until is not None and now >= until):
                    sel.unregister(sock)
                    left -= 1
                    continue
                sent_at[i] = time.perf_counter()
                sock.send(payload)  # type: ignore[union-attr]
    return rtts_ms


def _child_main(target: Callable[..., Any], args: tuple[Any, ...], out: Any) -> None:
    try:
        result = target(*args)
    except BaseException as exc:
        out.send(("error", f"{type(exc).__name__}: {exc}"))
        raise
    out.send(("ok", result))


def _in_child(target: Callable[..., Any], args: tuple[Any, ...], timeout_s: float) -> Any:
    """`target(*args)` in a forked child process; its result, or its error raised here.

    The clients run in a child (not a thread per connection in this process,
    whose GIL hand-offs would add their own tail and would share a core with the
    echo server's threads).
    """
    ctx = multiprocessing.get_context("fork")
    here, there = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_child_main, args=(target, args, there))
    child.start()
    there.close()
    try:
        if not here.poll(timeout_s):
            raise RuntimeError(f"{target.__name__} gave no answer in {timeout_s:.0f} s")
        status, result = here.recv()
    finally:
        here.close()
        child.join(10)
        if child.is_alive():
            child.kill()
            child.join()
    if status != "ok":
        raise RuntimeError(f"{target.__name__} failed in its child process: {result}")
    return result


def _tail_client(port: int, conns: int, trips: int) -> list[float]:
    """Each connection's p99 over `trips` round trips (after one warm-up trip), ms."""
    socks = _connect_all(port, conns)
    try:
        rtts_ms = _ping_pong(socks, trips=trips + 1)
    finally:
        for sock in socks:
            sock.close()
    return [percentile(each[1:], 99) for each in rtts_ms]


def toxic_tail_ms(port: int, conns: int, trips: int) -> float:
    """Median over `conns` concurrent connections of each one's p99 round trip (ms)."""
    p99s_ms = _in_child(_tail_client, (port, conns, trips), trips * 2 + 30)
    return statistics.median(p99s_ms)


@dataclass(frozen=True)
class Rate:
    """Round trips completed by all connections in one window, and who spent what CPU."""

    trips: int
    elapsed_s: float
    client_cpu_s: float
    watched_cpu_s: tuple[float, ...]  # per watched pid, in the order given
    machine_busy_s: float  # every CPU's non-idle time: these processes, the kernel, others

    @property
    def trips_per_s(self) -> float:
        return self.trips / self.elapsed_s


def _cpu_s(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def _machine_busy_s() -> float:
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


def _rate_client(
    port: int, conns: int, warmup_s: float, rate_s: float, watch_pids: tuple[int, ...]
) -> Rate:
    """Ping-pong on `conns` connections for `warmup_s`, then count for `rate_s`.

    The CPU of this process and of every watched pid is read at the window's
    start and end, here, so the window is the same for all of them.
    """
    socks = _connect_all(port, conns)
    try:
        _ping_pong(socks, until=time.perf_counter() + warmup_s)
        watched = [psutil.Process(pid) for pid in watch_pids]
        watched_before = [_cpu_s(each) for each in watched]
        client_before, machine_before = time.process_time(), _machine_busy_s()
        start = time.perf_counter()
        rtts_ms = _ping_pong(socks, until=start + rate_s)
        elapsed_s = time.perf_counter() - start
        client_cpu_s = time.process_time() - client_before
        machine_busy_s = _machine_busy_s() - machine_before
        watched_cpu_s = tuple(_cpu_s(p) - b for p, b in zip(watched, watched_before, strict=True))
    finally:
        for sock in socks:
            sock.close()
    return Rate(sum(map(len, rtts_ms)), elapsed_s, client_cpu_s, watched_cpu_s, machine_busy_s)


def small_request_rate(
    port: int, conns: int, rate_s: float, watch_pids: tuple[int, ...] = (), warmup_s: float = 0.5
) -> Rate:
    """64-byte round trips per second over `conns` connections at once, from one child."""
    args = (port, conns, warmup_s, rate_s, watch_pids)
    return _in_child(_rate_client, args, warmup_s + rate_s + 30)


Figures = dict[str, dict[str, list[float]]]


def _note_rate(figures: Figures, name: str, direct: Rate, proxied: Rate) -> None:
    """Record one round's rate pair; CPU rows only for what was watched."""
    f = figures[name]
    for key, value in (
        ("direct rate", direct.trips_per_s),
        ("direct client cores", direct.client_cpu_s / direct.elapsed_s),
        ("direct echo cores", direct.watched_cpu_s[0] / direct.elapsed_s),
        ("direct machine cores", direct.machine_busy_s / direct.elapsed_s),
        ("rate", proxied.trips_per_s),
        ("rate / direct", proxied.trips_per_s / direct.trips_per_s),
        ("client cores", proxied.client_cpu_s / proxied.elapsed_s),
        ("echo cores", proxied.watched_cpu_s[0] / proxied.elapsed_s),
        ("machine cores", proxied.machine_busy_s / proxied.elapsed_s),
    ):
        f.setdefault(key, []).append(value)
    if len(proxied.watched_cpu_s) > 1:  # a server process we started
        proxy_cpu_s = proxied.watched_cpu_s[1]
        f.setdefault("proxy cores", []).append(proxy_cpu_s / proxied.elapsed_s)
        f.setdefault("proxy ms/1000", []).append(proxy_cpu_s * 1e6 / proxied.trips)


def compare(args: argparse.Namespace) -> None:
    """Measure every --server round by round, interleaved; print medians and ratios."""
    servers = [item.split("=", 1) for item in args.server]
    reference = args.reference or servers[-1][0]
    print(f"load average at start {os.getloadavg()[0]:.1f}", flush=True)
    echo_listener, echo_port = _serve(_echo)
    sink_listener, sink_port = _serve(_sink)
    rate_echo = SelectorEcho()
    figures: Figures = {name: {} for name, _ in servers}
    direct_tail: list[float] = []
    here = os.getpid()  # the echo servers are threads of this process

    def note(name: str, key: str, value: float) -> None:
        figures[name].setdefault(key, []).append(value)

    try:
        with contextlib.ExitStack() as stack:
            clients, pids = {}, {}
            for name, spec in servers:
                url, pids[name] = stack.enter_context(started_server(spec))
                http = stack.enter_context(httpx.Client(base_url=url, timeout=10))
                version = http.get("/version").text.strip()
                print(f"{name}: {spec} -> {url} {version} (pid {pids[name] or 'not ours'})")
                clients[name] = http
            ports = {
                name: {
                    "echo": _make_proxy(http, "bench_echo", echo_port),
                    "tail": _make_proxy(http, "bench_tail", echo_port),
                    "rate": _make_proxy(http, "bench_rate", rate_echo.port),
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
                    if args.rate_conns:
                        watch = (here,) if pids[name] is None else (here, pids[name])
                        rate_direct = small_request_rate(
                            rate_echo.port, args.rate_conns, args.rate_s, (here,)
                        )
                        rate = small_request_rate(
                            ports[name]["rate"], args.rate_conns, args.rate_s, watch
                        )
                        _note_rate(figures, name, rate_direct, rate)
                    if args.mb:
                        note(name, "tput", throughput_mb_s(ports[name]["sink"], args.mb))
                    f = figures[name]
                    print(
                        f"round {rnd + 1} {name:<16} p50 {f['p50'][-1]:8.1f} us"
                        f" (direct {f['direct p50'][-1]:6.1f}, added {f['added p50'][-1]:6.1f})"
                        f"  p99 {f['p99'][-1]:8.1f} us"
                        + (f"  tail {f['tail'][-1]:7.2f} ms" if args.latency_conns else "")
                        + (
                            f"  rate {f['rate'][-1]:7.0f}/s (direct {f['direct rate'][-1]:7.0f})"
                            + (
                                f" proxy {f['proxy cores'][-1]:.2f} cores"
                                if "proxy cores" in f
                                else ""
                            )
                            if args.rate_conns
                            else ""
                        )
                        + (f"  {f['tput'][-1]:7.1f} MB/s" if args.mb else ""),
                        flush=True,
                    )
            for http in clients.values():
                for proxy in ("bench_echo", "bench_tail", "bench_rate", "bench_sink"):
                    http.delete(f"/proxies/{proxy}")
    finally:
        echo_listener.close()
        sink_listener.close()
        rate_echo.close()
    _print_comparison(args, servers, reference, figures, direct_tail)


def _spread(values: list[float], fmt: str) -> str:
    """`median (min-max)` of `values` in `fmt`."""
    median = fmt.format(statistics.median(values))
    return f"{median} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def _print_comparison(
    args: argparse.Namespace,
    servers: list[list[str]],
    reference: str,
    figures: Figures,
    direct_tail: list[float],
) -> None:
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
    if args.rate_conns:
        rows += [
            (f"rate, {args.rate_conns} conns (trips/s)", "rate", "{:.0f}"),
            ("rate / direct (same round)", "rate / direct", "{:.2f}"),
            ("proxy CPU per 1000 trips (ms)", "proxy ms/1000", "{:.1f}"),
            ("proxy CPU (cores)", "proxy cores", "{:.2f}"),
            ("client CPU (cores)", "client cores", "{:.2f}"),
            ("echo CPU (cores)", "echo cores", "{:.2f}"),
            ("machine busy (cores)", "machine cores", "{:.2f}"),
        ]
    if args.mb:
        rows.append(("throughput (MB/s)", "tput", "{:.1f}"))
    cpus = os.cpu_count()
    print(f"\n{platform.python_version()}, {cpus} CPUs, load average {os.getloadavg()[0]:.1f}")
    print(
        f"{args.rounds} rounds, median over rounds (min-max); round trips {args.iterations} x 64 B;"
        f" toxic: {args.latency_conns} connections x {args.trips} trips;"
        f" rate: {args.rate_conns} connections x {args.rate_s:g} s; bulk {args.mb} MiB"
    )
    direct = [v for n in figures for v in figures[n]["direct p50"]]
    print(f"direct p50 RTT (us): {statistics.median(direct):.1f}")
    if direct_tail:
        print(
            f"direct, {args.latency_conns} connections at once: median p99 RTT (ms)"
            f" {_spread(direct_tail, '{:.2f}')}"
        )
    if args.rate_conns:
        pooled = {
            k: [v for n in figures for v in figures[n][k]]
            for k in ("rate", "client cores", "echo cores", "machine cores")
            for k in (f"direct {k}",)
        }
        print(
            f"direct, {args.rate_conns} connections at once: round trips/s"
            f" {_spread(pooled['direct rate'], '{:.0f}')}; cores: client"
            f" {_spread(pooled['direct client cores'], '{:.2f}')}, echo"
            f" {_spread(pooled['direct echo cores'], '{:.2f}')}, machine busy"
            f" {_spread(pooled['direct machine cores'], '{:.2f}')}"
        )
    header = f"{'metric':<34}" + "".join(f"{name:>24}" for name, _ in servers)
    header += f" {'ratio to ' + reference:>25}" if len(servers) > 1 else ""
    print(header)
    for label, key, fmt in rows:
        line = f"{label:<34}"
        medians = {}
        for name, _ in servers:
            values = figures[name].get(key)
            if values:
                medians[name] = statistics.median(values)
            line += f"{_spread(values, fmt) if values else '-':>24}"
        if len(servers) > 1:
            ref = medians.get(reference)
            ratios = [
                f"{medians[n] / ref:.2f}" if ref and n in medians else "-"
                for n, _ in servers
                if n != reference
            ]
            line += f" {' / '.join(ratios):>25}"
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
    parser.add_argument(
        "--rate-conns",
        type=int,
        default=50,
        help="connections at once for the rate of small round trips (side by side; 0: off)",
    )
    parser.add_argument("--rate-s", type=float, default=3.0, help="seconds each rate is counted")
    parser.add_argument("--smoke", action="store_true", help="a run of a few seconds")
    args = parser.parse_args()
    if args.smoke:
        args.iterations, args.mb, args.rounds = 200, 5, 1
        args.latency_conns, args.trips, args.rate_conns, args.rate_s = 10, 5, 10, 0.5
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
