"""Benchmark: the harness at scale - local workers, the master's CPU, memory of a long drill (not a test).

Run: .venv/bin/python benchmarks/scale_bench.py workers [--workers 1,2,4] [--rounds 2]
           [--duration 15] [--users-per-worker 20] [--open-rate 2000]
     .venv/bin/python benchmarks/scale_bench.py memory [--minutes 30] [--rate 1000]
           [--cpu 0] [--json FILE]
     add --smoke to either for a run of a few seconds

Everything runs on 127.0.0.1 against the trivial HTTP server of
``load_accuracy_bench.py`` (raw asyncio, its own process, answers at once), with real
drills in fresh processes (planned, run with a live-view callback and analysed as
``harness.drill.execute.run_and_report`` does; only report.json is written), so
everything a drill runs is on: classification, recording and flushing, the live window, in-flight tracking,
the health monitor and the target watchers.

``workers``: for each worker count, a closed-model drill (``load.workers: N``, wait 0,
``--users-per-worker`` users per worker) and an open-model drill at ``--open-rate``
arrivals/s over the same workers; figures from ``report.json`` (the measured phase's
requests/s, dropped arrivals, corrected p99) and, from /proc, the CPU seconds of the
master (the drill process) and of its workers over the measured phase. Worker counts
rotate per round. On a 2-core machine more than 2 workers share cores with each other,
the master and the server: the table shows what that does, not what more cores give.

``memory``: one drill at ``--rate`` arrivals/s (open model) for ``--minutes``, the
drill process pinned to ``--cpu`` (taskset), its resident set size (VmRSS) sampled
every ``--sample-s`` seconds; prints RSS per minute and the slope in MiB/min (least
squares) over the run after its first two minutes, and over each half.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ACCURACY = HERE / "load_accuracy_bench.py"


def _bench_module(path: Path):
    """Another benchmark script as a module (its top level imports the standard library only)."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


acc = _bench_module(ACCURACY)  # its servers, drill child and process helpers
proc_cpu_s = _bench_module(HERE / "harness_overhead_bench.py").proc_cpu_s


def proc_rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def proc_cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def write_drill(folder: Path, url: str, load: dict, phases: list[dict]) -> Path:
    folder.mkdir(parents=True)
    scenario = folder / "scale_scenario.py"
    scenario.write_text(acc.SCENARIO.format(path=acc.WORK_PATH), encoding="utf-8")
    drill = {
        "name": "scale",
        "target": {"url": url, "health_path": acc.HEALTH_PATH},
        "toxiproxy": {"url": "embedded"},
        "load": {"scenario": str(scenario), "drain_s": 2, **load},
        "bucket_s": 0.25,
        "phases": phases,
    }
    path = folder / "drill.yaml"
    path.write_text(json.dumps(drill, indent=1), encoding="utf-8")  # JSON is YAML
    return path


def drill_child(drill_path: Path) -> None:
    """Run the drill in this (fresh) process and print its run directory; nothing else kept.

    (load_accuracy_bench's drill child keeps every loop-monitor sample, which would
    grow the process by ~10 MiB an hour and hide what the drill itself does.)
    """
    assert "ssl" not in sys.modules and "httpx" not in sys.modules, "import locust first"
    from harness.load import prepare_process

    prepare_process()  # import locust: gevent patches before httpx or ssl are imported

    from harness.drill.analysis import build_report
    from harness.drill.loader import load_drill
    from harness.drill.plan import plan_drill
    from harness.drill.runner import RunSettings, run_plan
    from harness.report import json_format

    # harness.drill.execute.run_and_report without the other report formats: only
    # report.json is read here, and the HTML page (rendered after the run) is not measured
    plan = plan_drill(load_drill(drill_path), drill_file=drill_path)
    settings = RunSettings(  # a live-view callback, as `harness run` without --quiet
        reports_dir=drill_path.parent / "reports", run_id="run", on_tick=lambda status: None
    )
    run_dir = run_plan(plan, settings)
    (run_dir / "report.json").write_text(json_format.render(build_report(run_dir)), "utf-8")
    print(json.dumps({"run_dir": str(run_dir)}))


def start_drill(drill: Path, folder: Path, cpu: str | None) -> subprocess.Popen:
    env = {**os.environ, "HARNESS_STATE_DIR": str(folder / "state")}
    cmd = [sys.executable, __file__, "drill-child", str(drill)]
    if cpu is not None:
        cmd = ["taskset", "-c", cpu, *cmd]
    return subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip


def finish_drill(proc: subprocess.Popen, timeout_s: float) -> dict:
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except BaseException:
        acc.stop_tree(proc)
        raise
    if proc.returncode != 0:
        raise RuntimeError(f"drill process failed ({proc.returncode}):\n{err[-3000:]}")
    child = json.loads(out.strip().splitlines()[-1])
    return json.loads((Path(child["run_dir"]) / "report.json").read_text(encoding="utf-8"))


# -- workers -----------------------------------------------------------------------------


def run_workers(model: str, workers: int, server, folder: Path, args) -> dict:
    """One drill with ``workers`` local workers; CPU of master and workers in the measured phase."""
    if model == "closed":
        load = {
            "model": "closed",
            "workers": workers,
            "shape": {"type": "steady", "level": args.users_per_worker * workers},
            "spawn_rate_per_s": 1000,
        }
    else:
        load = {
            "model": "open",
            "workers": workers,
            "shape": {"type": "steady", "level": args.open_rate},
            "max_concurrency": max(args.users_per_worker * workers, 100),
        }
    phases = [
        {"name": "warmup", "duration_s": args.warmup},
        {
            "name": "measure",
            "duration_s": args.duration,
            "checks": [{"type": "error_rate", "max_ratio": 1.0}],
        },
    ]
    drill = write_drill(folder, server.url, load, phases)
    proc = start_drill(drill, folder, None)
    try:
        master = proc.pid  # the drill child is the master (taskset would exec in place)
        # the measured phase: warm-up from t = 0, which comes after the workers connect;
        # wait until every worker is up, then for the warm-up
        deadline = time.monotonic() + 60
        pids: list[int] = []
        while time.monotonic() < deadline and proc.poll() is None:
            pids = [p for p in acc._descendants(master) if "harness worker" in proc_cmdline(p)]
            pids = [p for p in pids if "--exit-with-parent" in proc_cmdline(p)]
            if len(pids) >= workers:
                break
            time.sleep(0.1)
        started = time.monotonic()
        time.sleep(args.warmup + 0.5)  # t = 0 follows the last worker's hello within ~0.5 s
        cpu0 = {pid: proc_cpu_s(pid) for pid in [master, *pids]}
        wall0 = time.monotonic()
        time.sleep(max(args.duration - 1.0, 0.5))
        cpu1 = {pid: proc_cpu_s(pid) for pid in [master, *pids]}
        wall = time.monotonic() - wall0
        report = finish_drill(proc, args.warmup + args.duration + 90 - (time.monotonic() - started))
    except BaseException:
        acc.stop_tree(proc)
        raise
    phase = next(p for p in report["phases"] if p["name"] == "measure")

    def util(pid: int) -> float | None:
        if cpu0.get(pid) is None or cpu1.get(pid) is None:
            return None
        return (cpu1[pid] - cpu0[pid]) / wall

    worker_utils = [u for u in (util(p) for p in pids) if u is not None]
    dropped = phase["endpoints"].get("harness:dropped", {}).get("requests", 0)  # in the phase
    sent = phase["requests"] - dropped
    return {
        "model": model,
        "workers": workers,
        "rps": sent / (phase["end_s"] - phase["start_s"]),  # achieved: drops are not requests
        "requests": sent,
        "errors": phase["outcome_counts"].get("error", 0) - dropped,
        "dropped": dropped,
        "p99_ms": phase["p99_ms"],
        "p99c_ms": phase.get("p99_corrected_ms"),
        "master_cpu": util(master),
        "worker_cpu": worker_utils,
        "worker_pids_seen": len(pids),
    }


def workers_main(args) -> None:
    counts = [int(c) for c in args.workers.split(",")]
    load_before = os.getloadavg()
    uptime_before = _uptime()
    max_s = (args.warmup + args.duration + 40) * len(counts) * 2 * args.rounds + 120
    server = acc.start_server("trivial", 0.0, max_s)
    results: dict[tuple[str, int], list[dict]] = {}
    tmp = Path(tempfile.mkdtemp(prefix="scale-bench-"))
    try:
        for round_no in range(args.rounds):
            shift = round_no % len(counts)
            for workers in counts[shift:] + counts[:shift]:
                for model in ("closed", "open"):
                    print(
                        f"round {round_no + 1}: {model}, {workers} worker(s) ...", file=sys.stderr
                    )
                    folder = tmp / f"r{round_no}-{model}-{workers}"
                    results.setdefault((model, workers), []).append(
                        run_workers(model, workers, server, folder, args)
                    )
    finally:
        acc.stop_server(server.process)
        shutil.rmtree(tmp, ignore_errors=True)
    print(
        f"scale benchmark (workers) - Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"{datetime.now().astimezone():%Y-%m-%d %H:%M %Z}; load average before "
        f"{'/'.join(f'{x:.2f}' for x in load_before)}, after "
        f"{'/'.join(f'{x:.2f}' for x in os.getloadavg())}\n  uptime before: {uptime_before}\n"
        f"  uptime after:  {_uptime()}\n  {args.rounds} round(s), {args.warmup:g} s warm-up + "
        f"{args.duration:g} s measured; closed: {args.users_per_worker} users per worker, "
        f"wait 0; open: {args.open_rate:g} arrivals/s; medians over rounds\n"
    )
    head = (
        f"{'model':<8}{'workers':>8}{'req/s':>9}{'dropped':>9}{'p99 ms':>8}{'p99c ms':>9}"
        f"{'master CPU':>12}{'/worker':>9}{'us/req':>8}{'worker CPU':>12}"
    )
    print(head)
    print("-" * len(head))
    for (model, workers), runs in sorted(results.items()):
        rps = statistics.median(r["rps"] for r in runs)
        master = _median([r["master_cpu"] for r in runs])
        workers_cpu = _median([statistics.mean(r["worker_cpu"]) for r in runs if r["worker_cpu"]])
        p99c = _median([r["p99c_ms"] for r in runs])
        print(
            f"{model:<8}{workers:>8}{rps:>9.0f}{_median([r['dropped'] for r in runs]):>9.0f}"
            f"{_median([r['p99_ms'] for r in runs]):>8.1f}"
            f"{(f'{p99c:.1f}' if p99c is not None else '-'):>9}"
            f"{_pct(master):>12}{_pct(master / workers if master is not None else None):>9}"
            f"{(master / rps * 1e6 if master is not None and rps else float('nan')):>8.1f}"
            f"{_pct(workers_cpu):>12}"
        )
    print(
        "\nmaster CPU: % of one core used by the drill process (the Locust master: its loop, "
        "worker reports, rows to disk, live view, watchers) over the measured phase; "
        "/worker: that divided by the workers; us/req: master CPU microseconds per request "
        "served by the workers; worker CPU: mean per worker process."
    )
    print("\nper round (req/s, master CPU %):")
    for (model, workers), runs in sorted(results.items()):
        cells = ", ".join(f"{r['rps']:.0f} / {_pct(r['master_cpu']).strip()}" for r in runs)
        print(f"  {model:<8}{workers:>2}: {cells}")
    if args.json:
        args.json.write_text(
            json.dumps([r for runs in results.values() for r in runs], indent=1), encoding="utf-8"
        )


# -- memory ------------------------------------------------------------------------------


def slope_mib_per_min(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of (seconds, MiB) in MiB per minute."""
    if len(points) < 3:
        return None
    xs = [t / 60 for t, _ in points]
    ys = [m for _, m in points]
    mean_x, mean_y = statistics.mean(xs), statistics.mean(ys)
    var = sum((x - mean_x) ** 2 for x in xs)
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / var


def memory_main(args) -> None:
    duration_s = args.minutes * 60
    uptime_before = _uptime()
    server = acc.start_server("trivial", 0.0, duration_s + 300)
    tmp = Path(tempfile.mkdtemp(prefix="scale-memory-"))
    samples: list[tuple[float, float]] = []  # (s since start, RSS MiB)
    stop = threading.Event()
    try:
        load = {
            "model": "open",
            "shape": {"type": "steady", "level": args.rate},
            "max_concurrency": 100,
        }
        phases = [
            {
                "name": "run",
                "duration_s": duration_s,
                "checks": [{"type": "error_rate", "max_ratio": 1.0}],
            }
        ]
        drill = write_drill(tmp / "drill", server.url, load, phases)
        proc = start_drill(drill, tmp / "drill", str(args.cpu) if args.cpu is not None else None)
        started = time.monotonic()

        def sample() -> None:
            while not stop.is_set() and proc.poll() is None:
                rss = proc_rss_mib(proc.pid)
                if rss is not None and "drill-child" in proc_cmdline(proc.pid):  # past taskset
                    samples.append((time.monotonic() - started, rss))
                    if args.json:
                        args.json.write_text(json.dumps(samples), encoding="utf-8")
                stop.wait(args.sample_s)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        report = finish_drill(proc, duration_s + 120)
        stop.set()
        sampler.join()
    finally:
        stop.set()
        acc.stop_server(server.process)
        shutil.rmtree(tmp, ignore_errors=True)
    phase = report["phases"][0]
    print(
        f"scale benchmark (memory) - Python {platform.python_version()}, {os.cpu_count()} CPUs; "
        f"one drill, open model {args.rate:g} arrivals/s for {args.minutes:g} min, "
        f"drill process on CPU {args.cpu}\n  uptime before: {uptime_before}\n"
        f"  uptime after:  {_uptime()}\n  requests {phase['requests']}, "
        f"errors {phase['outcome_counts'].get('error', 0)}, dropped "
        f"{report['load'].get('dropped_arrivals', 0)}, p99 {phase['p99_ms']:.1f} ms, "
        f"corrected p99 {phase.get('p99_corrected_ms') or float('nan'):.1f} ms\n"
    )
    print(f"{'minute':>7}{'RSS MiB':>10}")
    step = max(1, round(60 / args.sample_s))
    for t, rss in samples[::step]:
        print(f"{t / 60:>7.1f}{rss:>10.1f}")
    settled = [(t, m) for t, m in samples if t >= min(120, duration_s / 4)]
    half = len(settled) // 2
    slope = slope_mib_per_min(settled)
    first, second = slope_mib_per_min(settled[:half]), slope_mib_per_min(settled[half:])
    print(
        f"\nRSS first sample {samples[0][1]:.1f} MiB, max {max(m for _, m in samples):.1f} MiB, "
        f"last {samples[-1][1]:.1f} MiB"
    )
    fmt = lambda v: f"{v:+.3f}" if v is not None else "-"  # noqa: E731
    print(
        f"slope after the first {settled[0][0] / 60:.1f} min: {fmt(slope)} MiB/min "
        f"(first half {fmt(first)}, second half {fmt(second)})"
    )


# -- shared ------------------------------------------------------------------------------


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def _pct(value: float | None) -> str:
    return f"{value * 100:.0f} %" if value is not None else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    workers = sub.add_parser("workers", help="local workers: requests/s and the master's CPU")
    workers.add_argument("--workers", default="1,2,4")
    workers.add_argument("--rounds", type=int, default=2)
    workers.add_argument("--warmup", type=float, default=3.0)
    workers.add_argument("--duration", type=float, default=15.0)
    workers.add_argument("--users-per-worker", type=int, default=20)
    workers.add_argument("--open-rate", type=float, default=2000.0)
    memory = sub.add_parser("memory", help="RSS of one long drill")
    memory.add_argument("--minutes", type=float, default=30.0)
    memory.add_argument("--rate", type=float, default=1000.0)
    memory.add_argument("--cpu", default="0", help="taskset CPU list for the drill process")
    memory.add_argument("--sample-s", type=float, default=10.0)
    for each in (workers, memory):
        each.add_argument("--smoke", action="store_true", help="a run of a few seconds")
        each.add_argument("--json", type=Path, help="also write the measurements to this file")
    child = sub.add_parser("drill-child", help=argparse.SUPPRESS)
    child.add_argument("drill", type=Path)
    args = parser.parse_args()
    if args.what == "drill-child":
        drill_child(args.drill)
    elif args.what == "workers":
        if args.smoke:
            args.workers, args.rounds, args.warmup, args.duration = "1", 1, 1.0, 2.0
            args.open_rate = 100.0
        workers_main(args)
    else:
        if args.smoke:
            args.minutes, args.rate, args.sample_s = 0.1, 100.0, 1.0
        memory_main(args)


if __name__ == "__main__":
    main()
