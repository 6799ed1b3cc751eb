"""Helpers for the drill-safety tests: a target whose failures we control, a Toxiproxy, drill files.

Drills always run in child processes (``python -m harness run``): the harness imports
Locust, whose gevent monkey-patching must stay out of the pytest process. Every
process and server started here is stopped in ``finally``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from harness.faults import ProxySpec, Stream, ToxicSpec, ToxiproxyAdapter
from tests.background import lower_priority
from toxiserver import ServerProcess, start_subprocess

HERE = Path(__file__).resolve().parent
SCENARIO = HERE / "safety_scenario.py"
EXPLODING_SCENARIO = HERE / "safety_exploding_scenario.py"
PROXIES = ("front", "dep_a", "dep_b")
FOREIGN_TOXIC = ToxicSpec("ops-latency", "latency", Stream.DOWNSTREAM, 1.0, {"latency": 1})
DEPS_BROKEN = [  # harmless to the traffic (nothing calls dep_a/dep_b), real on Toxiproxy
    {"name": "dep-a-slow", "proxy": "dep_a", "type": "latency", "latency_ms": 50},
    {"name": "dep-b-down", "proxy": "dep_b", "type": "down"},
]
FRONT_DOWN = [{"name": "front-down", "proxy": "front", "type": "down"}]


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        status = 500 if self.server.failing and self.path.startswith("/api/") else 200  # type: ignore[attr-defined]
        body = b'{"ok": true}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


class ControlledTarget:
    """A tiny HTTP target: /healthz and /api/ping answer 200 (500 for /api/ when ``failing``)."""

    def __init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.failing = False  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()
        self._stopped = False

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self._server.server_address[1]}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def stop(self) -> None:
        """Stop answering (connections are refused afterwards); safe to call twice."""
        if not self._stopped:
            self._stopped = True
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5)


@dataclass
class DrillEnv:
    """A running target and Toxiproxy; ``front_url`` reaches the target through proxy 'front'."""

    target: ControlledTarget
    toxiproxy: ServerProcess
    adapter: ToxiproxyAdapter
    front_url: str

    @property
    def target_url(self) -> str:
        return self.target.url

    @property
    def toxiproxy_url(self) -> str:
        return self.toxiproxy.url


@contextmanager
def drill_env() -> Iterator[DrillEnv]:
    """A controlled target and a fresh embedded Toxiproxy (subprocess) with proxies front, dep_a, dep_b."""
    target = ControlledTarget()
    try:
        with start_subprocess(port=0) as toxiproxy:
            adapter = ToxiproxyAdapter(toxiproxy.url)
            made = adapter.ensure_proxies([ProxySpec(n, target.address) for n in PROXIES])
            yield DrillEnv(target, toxiproxy, adapter, f"http://{made['front'].listen}")
    finally:
        target.stop()


def toxiproxy_state(adapter: ToxiproxyAdapter) -> dict[str, tuple[bool, list[str]]]:
    """``{proxy: (enabled, [toxic names])}``: what a test compares before and after."""
    return {
        name: (info.enabled, sorted(t.name for t in info.toxics))
        for name, info in adapter.proxies().items()
    }


def is_clean(adapter: ToxiproxyAdapter) -> bool:
    """Every proxy enabled and without toxics."""
    return all(enabled and not toxics for enabled, toxics in toxiproxy_state(adapter).values())


def write_drill(
    folder: Path,
    name: str,
    phases: list[dict[str, Any]],
    *,
    faults: dict[str, list[dict[str, Any]]] | None = None,
    abort: list[dict[str, Any]] | None = None,
    checks: list[dict[str, Any]] | None = None,
    users: int = 4,
    scenario: Path = SCENARIO,
    **extra: Any,
) -> Path:
    """A drill file in ``folder`` (fault scripts in ``folder/faults``); URLs come from flags."""
    (folder / "faults").mkdir(parents=True, exist_ok=True)
    for script, items in (faults or {}).items():
        doc = {"name": script, "faults": items}
        (folder / "faults" / f"{script}.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    drill = {
        "name": name,
        "target": {"url": "http://127.0.0.1:9", "health_path": "/healthz"},
        "toxiproxy": {"url": "http://127.0.0.1:9"},
        "proxies": [{"name": p} for p in PROXIES],
        "load": {
            "scenario": str(scenario),
            "shape": {"type": "steady", "level": users},
            "spawn_rate_per_s": 100,
        },
        "bucket_s": 0.25,
        "phases": phases,
        "checks": checks or [],
        "abort": abort or [],
        **extra,
    }
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(drill, sort_keys=False), encoding="utf-8")
    return path


@dataclass
class Child:
    """A ``harness`` child process whose output goes to files (no pipe can fill up)."""

    proc: subprocess.Popen[bytes]
    out_path: Path
    err_path: Path

    def wait(self, timeout_s: float) -> int:
        return self.proc.wait(timeout_s)

    @property
    def stdout(self) -> str:
        return self.out_path.read_text(encoding="utf-8", errors="replace")

    @property
    def stderr(self) -> str:
        return self.err_path.read_text(encoding="utf-8", errors="replace")

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def stop(self) -> None:
        """Kill the child if it still runs (used in ``finally``)."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


# Runs before the harness, in the same process (its effect survives exec), e.g. how a
# non-interactive shell starts a background job: SIGINT ignored.
IGNORE_SIGINT = "import signal; signal.signal(signal.SIGINT, signal.SIG_IGN)"


def _copy(fd: int, path: Path) -> None:
    with open(path, "ab") as out:
        while chunk := os.read(fd, 65536):
            out.write(chunk)
            out.flush()
    os.close(fd)


def start_harness(
    args: list[str],
    logs: Path,
    *,
    prelude: str | None = None,
    stdout: int | None = None,
    stderr_through_pipe: bool = False,
    env: dict[str, str] | None = None,
    background: bool = False,
) -> Child:
    """``python -m harness ARGS`` in a child process; stdout/stderr go to files in ``logs``.

    ``prelude``: Python run first, then ``exec`` of the harness (signal dispositions
    and resource limits carry over). ``stdout``: a file descriptor instead of the file.
    ``stderr_through_pipe``: the child writes stderr to a pipe that this process copies
    to the file (a file-size limit set on the child then does not reach its stderr).
    ``env``: variables set for the child only (safe from threads, unlike os.environ).
    ``background``: the child runs at a lower CPU priority (tests/background.py).
    """
    logs.mkdir(parents=True, exist_ok=True)
    stamp = f"{time.monotonic_ns()}"
    out_path, err_path = logs / f"{stamp}.out", logs / f"{stamp}.err"
    command = [sys.executable, "-m", "harness", *args]
    if prelude is not None:
        launch = f"{prelude}; import os, sys; os.execv(sys.executable, sys.argv[1:])"
        command = [sys.executable, "-c", launch, *command]
    pipe = os.pipe() if stderr_through_pipe else None
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen(
            command,
            stdout=out if stdout is None else stdout,
            stderr=err if pipe is None else pipe[1],
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
        )
    if background:
        lower_priority(proc.pid)
    if pipe is not None:
        os.close(pipe[1])
        threading.Thread(target=_copy, args=(pipe[0], err_path), daemon=True).start()
    return Child(proc, out_path, err_path)


def run_args(
    drill: Path,
    env: DrillEnv,
    reports: Path,
    run_id: str,
    *,
    via_front: bool = False,
    extra: list[str] | None = None,
) -> list[str]:
    """Arguments of ``harness run`` for ``drill`` against ``env``."""
    return [
        "run",
        str(drill),
        "--live",
        "plain",
        "--reports-dir",
        str(reports),
        "--run-id",
        run_id,
        "--target-url",
        env.front_url if via_front else env.target_url,
        "--toxiproxy-url",
        env.toxiproxy_url,
        *(extra or []),
    ]


def journal(run_dir: Path) -> list[dict[str, Any]]:
    """The run's journal entries so far (a torn last line is skipped)."""
    path = run_dir / "raw" / "journal.jsonl"
    if not path.is_file():
        return []
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entries.append(json.loads(line))
        except ValueError:
            continue
    return entries


EXIT_WAIT_S = 90.0
"""How long a test waits for a drill to exit on its own (a signal, an error, its end): a
safety net, not a measurement; a saturated 2-core CI machine may take tens of seconds."""


def wait_for(predicate: Any, timeout_s: float, child: Child | None = None, what: str = "") -> None:
    """Poll ``predicate`` until true; fail with ``what`` (and the child's stderr) on timeout."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        if child is not None and child.proc.poll() is not None:
            raise AssertionError(
                f"harness exited {child.proc.returncode} before {what}:\n{child.stderr}"
            )
        time.sleep(0.05)
    tail = f":\n{child.stderr[-2000:]}" if child is not None else ""
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}{tail}")


def wait_for_faults(run_dir: Path, count: int, child: Child, timeout_s: float = 60.0) -> None:
    """Wait until the journal shows ``count`` faults applied (a busy CI machine may take
    many seconds to start a drill; the wait ends as soon as they are)."""
    wait_for(
        lambda: sum(e["kind"] == "fault_applied" for e in journal(run_dir)) >= count,
        timeout_s,
        child,
        f"{count} fault(s) applied",
    )


def events(run_dir: Path, kind: str) -> list[dict[str, Any]]:
    return [e for e in journal(run_dir) if e["kind"] == kind]


def report_json(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "report.json").read_text(encoding="utf-8"))


SIGNALS = {"SIGINT": signal.SIGINT, "SIGTERM": signal.SIGTERM}
