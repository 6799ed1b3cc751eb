"""Benchmark: what the harness's per-request work costs a Locust load generator (not a test).

Run: .venv/bin/python benchmarks/harness_overhead_bench.py [--duration 10] [--users 20]
           [--rounds 5] [--configs bare,noop,harness,harness-json] [--micro-calls 100000]
           [--attribute]

One run starts a trivial HTTP responder (raw asyncio, its own process, loopback,
TCP_NODELAY) and then, for each configuration, a fresh load process that runs Locust
as a library (Environment + local runner, FastHttpUser, ``--users`` users, constant
wait 0) for ``--warmup`` + ``--duration`` seconds. Locust saturates its core, so
requests/s and CPU per request of the load process both show what is added:

- ``bare``: Locust alone (its own stats listener only);
- ``noop``: + one request listener that does nothing (Locust's event dispatch);
- ``harness``: + the listener path exactly as a drill wires it: ``LoadEngine`` with a
  ``RequestClassifier`` (header markers as the reference drills declare them, a write
  rule), the runner's ``on_sample`` (``Recorder.record`` + ``LiveWindow.add``), and the
  runner's tick (every 50 ms: rows of closed buckets flushed 2 s late to ``RunFiles``,
  i.e. JSON lines in a temp directory; the live view's rps/p95/error ratio);
- ``harness-json``: the same with ``json_field`` markers (every body is parsed).

Each harness configuration also times its listener alone (``LoadEngine._on_request``
called ``--micro-calls`` times with the arguments of a real request event), as a
cross-check of the CPU difference; ``--attribute`` also times the listener, the flush
and the live view where they run. Rounds rotate the order of the configurations; the
table shows medians over rounds ("added us/req": the median of each round's difference
to ``bare``). Every process it starts is stopped: the responder when the run ends (or
after ``--max-s``), each load process by a timeout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import select
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CONFIGS = ("bare", "noop", "harness", "harness-json", "drill", "k6")
BUCKET_S = 0.25  # the drills' default bucket
BODY = (
    b'{"order_id":"O-1042","status":"shipped","mode":"normal","source":"primary",'
    b'"items":[{"sku":"KB-17","qty":2,"price":"12.50"},{"sku":"HD-3","qty":1,"price":"99.00"}],'
    b'"eta_days":3}'
)
MODE_HEADER = "X-Helpdesk-Mode"
NO_COOKIES_ENV = "BENCH_NO_COOKIES"  # --no-cookies: every Locust user drops its cookie jar
NO_COOKIES = "-nocookies"  # a config with this suffix: that config, cookie jars off


# -- the responder (its own process; never imports Locust) -------------------------------


def serve(max_s: float) -> None:
    """Answer every GET on loopback with one fixed JSON response, keep-alive; print the port.

    Stops when stdin closes (the benchmark ended or died) or after ``max_s`` seconds.
    Requests carry no body (the load only sends GETs), so a request ends at a blank line.
    """
    import asyncio
    import socket
    import threading

    response = (  # the header set uvicorn sends, plus the reference system's mode marker
        b"HTTP/1.1 200 OK\r\ndate: Mon, 23 Nov 2026 07:30:00 GMT\r\nserver: uvicorn\r\n"
        b"content-type: application/json\r\n"
        + f"{MODE_HEADER}: normal\r\n".encode()
        + b"content-length: %d\r\n\r\n" % len(BODY)
        + BODY
    )

    class Responder(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport
            self.buffer = b""
            sock = transport.get_extra_info("socket")
            if sock is not None:  # asyncio already does this for IPPROTO_TCP sockets
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def data_received(self, data: bytes) -> None:
            buffer = self.buffer + data
            complete = buffer.count(b"\r\n\r\n")
            if complete:
                self.transport.write(response * complete)  # one write per batch
                buffer = buffer[buffer.rfind(b"\r\n\r\n") + 4 :]
            self.buffer = buffer

    async def main() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        # asyncio's own listener: getaddrinfo gives proto IPPROTO_TCP, so TCP_NODELAY is on
        server = await loop.create_server(Responder, "127.0.0.1", 0, backlog=512)
        port = server.sockets[0].getsockname()[1]
        print(port, flush=True)

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


def proc_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of process ``pid`` (Linux /proc), None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- one load process per configuration --------------------------------------------------


def run_load(args: argparse.Namespace) -> dict:
    """Run one configuration in this (fresh) process; return its figures."""
    # Locust first: gevent patches sockets and ssl before anything imports them;
    # nothing above has imported ssl or httpx (the responder and orchestrator never do).
    assert "ssl" not in sys.modules and "httpx" not in sys.modules, "import locust first"
    from harness.load import prepare_process

    prepare_process()  # import locust

    import gc
    import resource

    import gevent
    from locust.env import Environment

    from harness.clock import DrillClock
    from harness.drill.assembly import LATE_GRACE_S, RequestPipeline
    from harness.drill.live import LiveWindow
    from harness.drill.model import LoadSpec, WriteRule
    from harness.drill.runner import TICK_S
    from harness.load.engine import LoadEngine, RequestClassifier
    from harness.load.health import freeze_heap
    from harness.load.outcome import Marker, OutcomeRules
    from harness.metrics.recorder import Recorder
    from harness.results.files import METRICS, RAW, RunFiles
    from harness.results.model import Outcome
    from harness.results.raw import MetricRow

    config = args.load
    counted = [0, 0]  # harness configs: requests and errors handed to the pipeline

    Customer = scenario_users()  # the same users the drill configuration's locustfile has

    def markers() -> list[Marker]:
        if config == "harness-json":
            return [
                Marker(outcome="fallback", json_field="mode", value="fallback"),
                Marker(outcome="degraded", json_field="mode", value="degraded"),
            ]
        return [  # as drills/*.yaml declare them for the reference system
            Marker(outcome="fallback", header=MODE_HEADER, value="fallback"),
            Marker(outcome="degraded", header=MODE_HEADER, value="degraded"),
        ]

    def pipeline(run_dir: Path):
        """A LoadEngine wired as harness.drill.assembly wires it; (engine, recorder, live, files)."""
        clock = DrillClock()
        classifier = RequestClassifier(
            OutcomeRules(markers=markers()),
            [
                WriteRule(
                    endpoint="tickets:create", id_field="ticket_id", read_path="/api/tickets/{id}"
                )
            ],
            clock,
        )
        files = RunFiles(run_dir)
        recorder = Recorder(bucket_s=BUCKET_S, sink=files.metric_rows)
        live = LiveWindow()
        pipeline = RequestPipeline(recorder, live)  # what a drill's engine hands samples to

        def on_samples(samples: list) -> None:
            # the harness detaches Locust's request stats: count here (charged to it)
            counted[0] += len(samples)
            counted[1] += sum(sample.outcome is Outcome.ERROR for sample in samples)
            pipeline(samples)

        spec = LoadSpec.model_validate(
            {
                "scenario": "bench",
                "shape": {"type": "steady", "level": args.users},
                "spawn_rate_per_s": args.users,
            }
        )
        engine = LoadEngine(
            spec,
            [Customer],
            target_url=args.host,
            classifier=classifier,
            on_samples=on_samples,
            on_write=lambda write: None,
            bucket_s=BUCKET_S,
        )
        return engine, clock, recorder, live, files

    tmp = tempfile.TemporaryDirectory(prefix="harness-overhead-")
    engine = recorder = live = files = None
    spent = dict.fromkeys(("listener", "collect", "flush", "live_view"), 0.0)  # seconds inside
    if config in ("harness", "harness-json"):
        engine, clock, recorder, live, files = pipeline(Path(tmp.name) / "run")
        env = engine.env
        if args.attribute:  # time the listener where it runs (adds ~0.2 us a request)
            listener = engine._on_request

            def timed_listener(**event: object) -> None:
                start = time.perf_counter()
                listener(**event)
                spent["listener"] += time.perf_counter() - start

            env.events.request.remove_listener(listener)
            env.events.request.add_listener(timed_listener)
        freeze_heap()  # as the runner, before t = 0
        clock.start()  # as the runner: just before engine.start()
        engine.start()
        engine.set_level(args.users)
        runner = engine.runner
    else:
        env = Environment(user_classes=[Customer], host=args.host, catch_exceptions=True)
        if config == "noop":
            env.events.request.add_listener(lambda **_: None)
        runner = env.create_local_runner()
        runner.start(args.users, spawn_rate=args.users)
    t0_mono = time.monotonic()
    t0_mono_perf = time.perf_counter()

    def tick() -> None:  # the drill runner's loop, in every configuration
        last_flush_s = 0.0
        while True:
            now = time.monotonic() - t0_mono
            start = time.perf_counter()
            if engine is not None:  # classify the requests that ended since the last tick
                engine.collect()
            collected = time.perf_counter()
            spent["collect"] += collected - start
            start = collected
            if recorder is not None and now - last_flush_s >= BUCKET_S:
                recorder.flush(now - LATE_GRACE_S)
                last_flush_s = now
            flushed = time.perf_counter()
            if live is not None:  # the live view (harness run without --quiet)
                live.rps(now, 1.0)
                live.p95_ms(now, 1.0)
                live.error_ratio(now, 1.0)
            spent["flush"] += flushed - start
            spent["live_view"] += time.perf_counter() - flushed
            gevent.sleep(TICK_S)

    ticker = gevent.spawn(tick)
    captured: dict = {}
    capture = captured.update  # one real request event, for the listener-alone timing
    env.events.request.add_listener(capture)
    gevent.sleep(0.5)
    env.events.request.remove_listener(capture)
    gevent.sleep(max(args.warmup - 0.5, 0.0))

    def snapshot() -> tuple[float, float, int, int, float | None]:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        total = env.stats.total
        server = proc_cpu_s(args.server_pid) if args.server_pid else None
        requests, failures = (
            counted if engine is not None else (total.num_requests, total.num_failures)
        )
        return (time.perf_counter(), usage.ru_utime + usage.ru_stime, requests, failures, server)

    gc_s = [0.0, 0.0]  # time in the garbage collector during the window; start of the current one

    def on_gc(phase: str, _info: dict) -> None:
        if phase == "start":
            gc_s[1] = time.perf_counter()
        else:
            gc_s[0] += time.perf_counter() - gc_s[1]

    gc.callbacks.append(on_gc)
    wall0, cpu0, req0, fail0, srv0 = snapshot()
    spent.update(dict.fromkeys(spent, 0.0))
    gevent.sleep(args.duration)
    wall1, cpu1, req1, fail1, srv1 = snapshot()
    gc.callbacks.remove(on_gc)
    if engine is not None:
        engine.stop()
    else:
        runner.quit()
    ticker.kill()
    wall = wall1 - wall0
    requests = req1 - req0
    result = {
        "config": config,
        "wall_s": wall,
        "requests": requests,
        "failures": fail1 - fail0,
        "rps": requests / wall,
        "cpu_s": cpu1 - cpu0,
        "cpu_util": (cpu1 - cpu0) / wall,
        "cpu_us_per_req": (cpu1 - cpu0) / requests * 1e6 if requests else None,
        "in_situ_us_per_req": {k: v / requests * 1e6 for k, v in spent.items()} if requests else {},
        "gc_us_per_req": gc_s[0] / requests * 1e6 if requests else None,
        "server_cpu_util": (srv1 - srv0) / wall if srv0 is not None and srv1 is not None else None,
    }

    if recorder is not None:
        recorder.flush_all()
        files.close()
        rows = [
            MetricRow.model_validate_json(line)
            for line in (Path(tmp.name) / "run" / RAW / METRICS).read_text().splitlines()
        ]
        result["rows_written"] = len(rows)
        result["rows_requests"] = sum(row.count for row in rows)
        result["all_requests"] = counted[0]
        result["outcomes"] = sorted({str(row.outcome) for row in rows})

        # the listener alone, on a real request event's arguments
        micro = pipeline(Path(tmp.name) / "micro")
        micro_engine, micro_clock, micro_recorder, _, micro_files = micro
        micro_clock.start()  # request times are counted from t = 0: the clock must run
        on_request = micro_engine._on_request
        event = dict(captured)

        def noop(**_: object) -> None:
            return None

        gc.collect()
        start = time.process_time()
        for _ in range(args.micro_calls):
            noop(**event)
        noop_s = time.process_time() - start
        start = time.process_time()
        for _ in range(args.micro_calls):
            on_request(**event)
        listener_s = time.process_time() - start
        start = time.process_time()
        micro_engine.collect()  # classify them, as the tick does
        collect_s = time.process_time() - start
        start = time.process_time()
        micro_recorder.flush_all()
        flush_s = time.process_time() - start
        micro_files.close()
        # one tick of the live view on the run's own window (its last full second)
        end_s = wall1 - t0_mono_perf  # the load ran until then: its last whole second is full
        start = time.process_time()
        for _ in range(20):
            live.rps(end_s, 1.0)
            live.p95_ms(end_s, 1.0)
            live.error_ratio(end_s, 1.0)
        result["micro_tick_ms"] = (time.process_time() - start) / 20 * 1e3
        result["ticks_per_s"] = 1 / TICK_S
        result["micro_listener_us"] = listener_s / args.micro_calls * 1e6
        result["micro_collect_us"] = collect_s / args.micro_calls * 1e6
        result["micro_noop_us"] = noop_s / args.micro_calls * 1e6
        result["micro_flush_ms"] = flush_s * 1e3
    tmp.cleanup()
    return result


SCENARIO = '''"""The benchmark's users, as a locustfile (the ``drill`` configuration)."""

import os

from locust import FastHttpUser, constant, task


class Customer(FastHttpUser):
    wait_time = constant(0)

    def on_start(self) -> None:
        if os.environ.get("{NO_COOKIES_ENV}"):  # FastHttpUser's cookie jar off (docs/load.md)
            self.client.client.cookiejar = None

    @task
    def order(self) -> None:
        self.client.get("/api/orders/O-1042", name="orders:get")

    @task
    def article(self) -> None:
        self.client.get("/api/kb/articles/17", name="kb:article")
'''


def scenario_text() -> str:
    """The benchmark's locustfile, with the cookie-jar switch's variable filled in."""
    return SCENARIO.replace("{NO_COOKIES_ENV}", NO_COOKIES_ENV)


def scenario_users() -> type:
    """The ``Customer`` class of :data:`SCENARIO`, for the in-process configurations."""
    namespace: dict = {"__name__": "harness_overhead_scenario"}
    exec(compile(scenario_text(), "<harness_overhead_bench SCENARIO>", "exec"), namespace)
    return namespace["Customer"]


def write_drill(folder: Path, args: argparse.Namespace) -> Path:
    """A closed-model drill of ``--users`` users on the responder: warm-up, then measure."""
    folder.mkdir(parents=True)
    scenario = scenario_text()
    (folder / "bench_scenario.py").write_text(scenario, encoding="utf-8")
    drill = {
        "name": "harness-overhead",
        "target": {"url": args.host, "health_path": "/healthz"},  # the liveness watch polls it
        "toxiproxy": {"url": "embedded"},  # started and watched, as in a real drill
        "load": {
            "scenario": str(folder / "bench_scenario.py"),
            "shape": {"type": "steady", "level": args.users},
            "spawn_rate_per_s": args.users,
            "drain_s": 2,
        },
        "outcomes": {  # as drills/*.yaml declare them for the reference system
            "markers": [
                {"outcome": "fallback", "header": MODE_HEADER, "value": "fallback"},
                {"outcome": "degraded", "header": MODE_HEADER, "value": "degraded"},
            ]
        },
        "writes": [
            {
                "endpoint": "tickets:create",
                "id_field": "ticket_id",
                "read_path": "/api/tickets/{id}",
            }
        ],
        "bucket_s": BUCKET_S,
        "phases": [
            {"name": "warmup", "duration_s": args.warmup},
            {
                "name": "measure",
                "duration_s": args.duration,
                "checks": [{"type": "error_rate", "max_ratio": 0.0}],
            },
        ],
    }
    path = folder / "drill.yaml"
    path.write_text(json.dumps(drill, indent=1), encoding="utf-8")  # JSON is YAML
    return path


def run_drill(args: argparse.Namespace) -> dict:
    """The ``drill`` configuration: a real drill in this process, everything on.

    planned, run and analysed as ``harness.drill.execute.run_and_report`` does, with a
    live-view callback (as ``harness run`` without ``--quiet``; the report formats are
    not rendered): classification, recording, flushing to raw files, the
    live window, in-flight tracking, the health monitor, the target and Toxiproxy
    watchers and the embedded Toxiproxy. Requests/s is the ``measure`` phase's from
    report.json; CPU is this process's ``getrusage`` over that phase, sampled every
    0.1 s and cut at the phase's bounds (the embedded Toxiproxy's own CPU is not in it).
    """
    assert "ssl" not in sys.modules and "httpx" not in sys.modules, "import locust first"
    from harness.load import prepare_process

    prepare_process()

    import resource
    from datetime import datetime

    import gevent

    from harness.drill.analysis import build_report
    from harness.drill.loader import load_drill
    from harness.drill.plan import plan_drill
    from harness.drill.runner import RunSettings, run_plan
    from harness.report import json_format

    tmp = tempfile.TemporaryDirectory(prefix="harness-overhead-drill-")
    os.environ["HARNESS_STATE_DIR"] = str(Path(tmp.name) / "state")  # a ledger of its own
    path = write_drill(Path(tmp.name) / "drill", args)
    usage: list[tuple[float, float]] = []  # (unix s, CPU s)

    def sample() -> None:
        while True:
            ru = resource.getrusage(resource.RUSAGE_SELF)
            usage.append((time.time(), ru.ru_utime + ru.ru_stime))
            gevent.sleep(0.1)

    sampler = gevent.spawn(sample)
    try:
        # harness.drill.execute.run_and_report without rendering the report formats
        # (after the run, not measured; only report.json's figures are read)
        settings = RunSettings(
            reports_dir=Path(tmp.name) / "reports",
            run_id="run",
            on_tick=lambda status: None,  # the live view's figures are computed every tick
        )
        run_dir = run_plan(plan_drill(load_drill(path), drill_file=path), settings)
    finally:
        sampler.kill()
    data = json.loads(json_format.render(build_report(run_dir)))
    tmp.cleanup()
    phase = next(p for p in data["phases"] if p["name"] == "measure")
    t0 = datetime.fromisoformat(data["started_at"]).timestamp()
    start, end = t0 + phase["start_s"], t0 + phase["end_s"]
    inside = [(t, c) for t, c in usage if start <= t <= end]
    (ta, ca), (tb, cb) = inside[0], inside[-1]
    requests = phase["requests"]
    return {
        "config": "drill",
        "wall_s": end - start,
        "requests": requests,
        "failures": phase["outcome_counts"].get("error", 0),
        "rps": requests / (end - start),
        "cpu_s": cb - ca,
        "cpu_util": (cb - ca) / (tb - ta),
        "cpu_us_per_req": (cb - ca) / (tb - ta) * (end - start) / requests * 1e6,
        "in_situ_us_per_req": {},
        "gc_us_per_req": None,
        "server_cpu_util": None,
    }


K6_SCRIPT = """
import http from 'k6/http';

export const options = {
  discardResponseBodies: true,
  scenarios: {
    warmup: { executor: 'constant-vus', vus: Number(__ENV.VUS), duration: __ENV.WARMUP,
              gracefulStop: '0s' },
    measure: { executor: 'constant-vus', vus: Number(__ENV.VUS), duration: __ENV.DURATION,
               startTime: __ENV.WARMUP, gracefulStop: '1s' },
  },
  thresholds: { 'http_reqs{scenario:measure}': ['count>=0'] },
};

export default function () {
  http.get(__ENV.URL + (__ITER % 2 ? '/api/kb/articles/17' : '/api/orders/O-1042'));
}

export function handleSummary(data) {
  return { [__ENV.SUMMARY]: JSON.stringify(data) };
}
"""


def run_k6(args: argparse.Namespace, port: int, cpu: str | None) -> dict:
    """k6 closed model (``constant-vus``, ``--users`` VUs, no sleep) on the same pinned core."""
    import sysconfig

    binary = Path(sysconfig.get_path("scripts")) / "k6"
    if not binary.exists():
        raise RuntimeError(f"no k6 binary at {binary}; `.venv/bin/pip install -e '.[bench]'`")
    with tempfile.TemporaryDirectory(prefix="harness-overhead-k6-") as folder:
        script, summary = Path(folder) / "closed.js", Path(folder) / "summary.json"
        script.write_text(K6_SCRIPT, encoding="utf-8")
        cmd = [str(binary), "run", "--quiet", "--no-color", "--no-usage-report"]
        for key, value in {
            "URL": f"http://127.0.0.1:{port}", "VUS": str(args.users),
            "WARMUP": f"{args.warmup:g}s", "DURATION": f"{args.duration:g}s",
            "SUMMARY": str(summary),
        }.items():  # fmt: skip
            cmd += ["--env", f"{key}={value}"]
        cmd = _pinned([*cmd, str(script)], cpu)
        env = {**os.environ, "K6_NO_USAGE_REPORT": "true"}
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        cpu0 = wall0 = None
        try:
            time.sleep(args.warmup)
            cpu0, wall0 = proc_cpu_s(proc.pid), time.perf_counter()
            time.sleep(args.duration)
            cpu1, wall1 = proc_cpu_s(proc.pid), time.perf_counter()
            _, err = proc.communicate(timeout=args.warmup + args.duration + 30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if proc.returncode != 0 or not summary.exists():
            raise RuntimeError(f"k6 failed ({proc.returncode}):\n{err.decode()[-3000:]}")
        metrics = json.loads(summary.read_text(encoding="utf-8"))["metrics"]
    requests = int(metrics["http_reqs{scenario:measure}"]["values"]["count"])
    failed = metrics.get("http_req_failed", {}).get("values", {}).get("passes", 0)
    cpu_s = cpu1 - cpu0 if cpu0 is not None and cpu1 is not None else None
    return {
        "config": "k6",
        "wall_s": args.duration,
        "requests": requests,
        "failures": failed,
        "rps": requests / args.duration,
        "cpu_s": cpu_s,
        "cpu_util": cpu_s / (wall1 - wall0) if cpu_s is not None else None,
        "cpu_us_per_req": cpu_s / requests * 1e6 if cpu_s is not None and requests else None,
        "in_situ_us_per_req": {},
        "gc_us_per_req": None,
        "server_cpu_util": None,
    }


def _pinned(cmd: list[str], cpu: str | None) -> list[str]:
    return ["taskset", "-c", cpu, *cmd] if cpu else cmd


# -- the orchestrator --------------------------------------------------------------------


def start_server(max_s: float, cpu: str | None) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen(
        _pinned([sys.executable, __file__, "--serve", "--max-s", str(max_s)], cpu),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    ready, _, _ = select.select([proc.stdout], [], [], 15.0)
    line = proc.stdout.readline() if ready else b""
    if not line.strip().isdigit():
        stop_server(proc)
        raise RuntimeError("the HTTP responder did not start within 15 s")
    return proc, int(line)


def stop_server(proc: subprocess.Popen) -> None:
    try:
        proc.stdin.close()  # the responder exits at EOF
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def measure(config: str, args: argparse.Namespace, port: int, server_pid: int) -> dict:
    if config == "k6":
        return run_k6(args, port, args.cpu)
    base, no_cookies = config.removesuffix(NO_COOKIES), config.endswith(NO_COOKIES)
    cmd = [
        sys.executable, __file__, "--load", base,
        "--host", f"http://127.0.0.1:{port}", "--server-pid", str(server_pid),
        "--users", str(args.users), "--duration", str(args.duration),
        "--warmup", str(args.warmup), "--micro-calls", str(args.micro_calls),
    ] + (["--attribute"] if args.attribute else [])  # fmt: skip
    cmd = _pinned(cmd, args.cpu)
    timeout = args.warmup + args.duration + 60 + args.micro_calls / 10_000
    env = {**os.environ, NO_COOKIES_ENV: "1" if args.no_cookies or no_cookies else ""}
    done = subprocess.run(  # kills on timeout
        cmd, capture_output=True, text=True, timeout=timeout, env=env
    )
    if done.returncode != 0:
        raise RuntimeError(f"load process {config} failed:\n{done.stderr[-3000:]}")
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "config": config}


def median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def _fmt(value: float | None, scale: float, spec: str, unit: str = "") -> str:
    return "-" if value is None else f"{value * scale:{spec}}{unit}"


def report(results: dict[str, list[dict]], args: argparse.Namespace, load_before: float) -> None:
    print(
        f"harness overhead benchmark - Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"1-min load avg {load_before:.2f} before, {os.getloadavg()[0]:.2f} after; {args.users} FastHttpUsers, wait 0, "
        f"{args.warmup:g} s warm-up + {args.duration:g} s measured, {args.rounds} round(s), medians; "
        f"load processes on CPU {args.cpu or 'any'}, responder on CPU {args.server_cpu or 'any'}"
        f"{'; Locust cookie jars off' if args.no_cookies else ''}\n"
        f"  uptime before: {args.uptime_before}\n  uptime after:  {_uptime()}\n"
    )
    base = results.get("bare")
    base_rps = median([r["rps"] for r in base]) if base else None
    base_cpu = median([r["cpu_us_per_req"] for r in base]) if base else None
    head = (
        f"{'config':<14}{'req/s':>9}{'ratio':>7}{'CPU s/1k req':>14}{'ratio':>7}"
        f"{'added us/req':>14}{'GC us/req':>11}{'load CPU':>10}{'server CPU':>12}{'failures':>10}"
    )
    print(head)
    print("-" * len(head))
    for config, runs in results.items():
        rps = median([r["rps"] for r in runs])
        cpu = median([r["cpu_us_per_req"] for r in runs])
        util = median([r["cpu_util"] for r in runs])
        server = median([r["server_cpu_util"] for r in runs])
        failures = sum(r["failures"] for r in runs)
        rps_ratio = f"{rps / base_rps:.3f}" if base_rps else "-"
        # paired: this config minus bare in the same round, then the median over rounds
        pairs = zip(runs, base, strict=True) if base else ()
        paired = [
            r["cpu_us_per_req"] - b["cpu_us_per_req"]
            for r, b in pairs
            if r["cpu_us_per_req"] is not None and b["cpu_us_per_req"] is not None
        ]
        added = f"{median(paired):+.1f}" if paired else "-"
        gc_us = median([r["gc_us_per_req"] for r in runs])
        print(
            f"{config:<14}{rps:>9.0f}{rps_ratio:>7}{_fmt(cpu, 1e-3, '.3f'):>14}"
            f"{_fmt(cpu / base_cpu if cpu and base_cpu else None, 1, '.3f'):>7}"
            f"{added:>14}{_fmt(gc_us, 1, '.2f'):>11}{_fmt(util, 100, '.0f', ' %'):>10}"
            f"{_fmt(server, 100, '.0f', ' %'):>12}{failures:>10}"
        )
    if base:  # each config / bare within the same round, then the median and the spread
        print("\nreq/s ratio to bare, paired within each round: median [min..max]")
        for config, runs in results.items():
            if config == "bare":
                continue
            ratios = [r["rps"] / b["rps"] for r, b in zip(runs, base, strict=True)]
            print(
                f"  {config:<18}{statistics.median(ratios):.3f} "
                f"[{min(ratios):.3f}..{max(ratios):.3f}]"
            )
    if "drill" in results and "k6" in results:
        ratios = [d["rps"] / k["rps"] for d, k in zip(results["drill"], results["k6"], strict=True)]
        print(
            f"  {'drill / k6':<18}{statistics.median(ratios):.3f} "
            f"[{min(ratios):.3f}..{max(ratios):.3f}]"
        )
    micro = {c: runs for c, runs in results.items() if "micro_listener_us" in runs[0]}
    if micro:
        print(
            f"\nlistener alone (LoadEngine._on_request on a real event, {args.micro_calls} calls, "
            "then one collect of them all):"
        )
        for config, runs in micro.items():
            listener = median([r["micro_listener_us"] for r in runs])
            collect = median([r["micro_collect_us"] for r in runs])
            noop = median([r["micro_noop_us"] for r in runs])
            flush = median([r["micro_flush_ms"] for r in runs])
            tick = median([r["micro_tick_ms"] for r in runs])
            rps = median([r["rps"] for r in runs])
            per_s = tick * runs[0]["ticks_per_s"]
            print(
                f"  {config:<14}{listener:6.2f} us/call (a no-op listener call: {noop:.2f} us), "
                f"collect {collect:.2f} us/event; "
                f"flushing those {args.micro_calls} samples as 1 row: {flush:.1f} ms"
            )
            print(
                f"  {'':<14}live view per tick (rps, p95, error ratio of the last second): "
                f"{tick:.2f} ms x {runs[0]['ticks_per_s']:.0f}/s = {per_s:.1f} ms/s "
                f"= {per_s * 1e3 / rps:.2f} us/request at {rps:.0f} req/s"
            )
        for config, runs in micro.items():
            r = runs[-1]
            ok = r["rows_requests"] == r["all_requests"]
            print(
                f"  {config}: {r['rows_written']} rows written, {r['rows_requests']} requests in rows "
                f"vs {r['all_requests']} sent ({'all recorded' if ok else 'MISMATCH'}), "
                f"outcomes {r['outcomes']}"
            )
    if args.attribute and micro:
        print("\nwhere the added time goes, timed in place (wall us per request, medians):")
        for config in micro:
            parts = {
                part: median([r["in_situ_us_per_req"][part] for r in results[config]])
                for part in ("listener", "collect", "flush", "live_view")
            }
            total = sum(parts.values())
            cells = ", ".join(f"{part} {value:.1f}" for part, value in parts.items())
            print(f"  {config:<14}{cells}; sum {total:.1f}")
    print("\nper round (req/s, CPU us/req):")
    for config, runs in results.items():
        cells = ", ".join(f"{r['rps']:.0f} / {_fmt(r['cpu_us_per_req'], 1, '.0f')}" for r in runs)
        print(f"  {config:<14}{cells}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per config")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before measuring")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=1, help="each config once per round")
    parser.add_argument(
        "--configs",
        default="bare,harness,drill,k6",
        help=f"of {', '.join(CONFIGS)}; a Locust config + '{NO_COOKIES}': its cookie jars off",
    )
    parser.add_argument("--micro-calls", type=int, default=100_000)
    parser.add_argument(
        "--attribute",
        action="store_true",
        help="also time the listener, the collect, the flush and the live view where they run",
    )
    parser.add_argument(
        "--max-s",
        type=float,
        default=None,
        help="responder lifetime cap (default: what the run needs + 120 s)",
    )
    parser.add_argument(
        "--cpu", default="1", help="taskset CPU list for every load process ('' : not pinned)"
    )
    parser.add_argument(
        "--server-cpu", default="0", help="taskset CPU list for the responder ('' : not pinned)"
    )
    parser.add_argument(
        "--no-cookies",
        action="store_true",
        help="every Locust user sets self.client.client.cookiejar = None in on_start",
    )
    parser.add_argument("--smoke", action="store_true", help="bare, harness and drill, 1 s each")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--load", choices=CONFIGS, help=argparse.SUPPRESS)
    parser.add_argument("--host", help=argparse.SUPPRESS)
    parser.add_argument("--server-pid", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.serve:
        serve(args.max_s or 3600.0)
        return
    if args.load == "drill":
        print(json.dumps(run_drill(args)))
        return
    if args.load:
        print(json.dumps(run_load(args)))
        return

    if args.smoke:
        args.configs, args.rounds, args.warmup, args.duration = "bare,harness,drill", 1, 1.0, 1.0
        args.micro_calls = 1000
    args.uptime_before = _uptime()
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    unknown = {c.removesuffix(NO_COOKIES) for c in configs} - set(CONFIGS)
    if unknown:
        parser.error(f"unknown configs {sorted(unknown)}; choose from {', '.join(CONFIGS)}")
    per_run = args.warmup + args.duration + 15
    max_s = args.max_s or per_run * len(configs) * args.rounds + 120
    results: dict[str, list[dict]] = {c: [] for c in configs}
    load_before = os.getloadavg()[0]
    proc, port = start_server(max_s, args.server_cpu)
    try:
        for round_no in range(args.rounds):
            shift = round_no % len(configs)
            for config in configs[shift:] + configs[:shift]:
                print(
                    f"round {round_no + 1}/{args.rounds}: {config} ...", file=sys.stderr, flush=True
                )
                results[config].append(measure(config, args, port, proc.pid))
    finally:
        stop_server(proc)
    report(results, args, load_before)


if __name__ == "__main__":
    main()
