"""Kill matrix: SIGKILL, SIGTERM and SIGINT at three moments, with the embedded server and with a worker.

Moments: *before faults* (base phase), *fault applied* (both faults on), *read-back*
(the target holds the drill's write read-back). Setups, both with ``load.workers: 1``:
``embedded`` (``toxiproxy: embedded``: the drill owns its Toxiproxy) and ``external``
(a shared Toxiproxy carrying a hand-made toxic the harness must never touch).

After each signal: nothing of the drill is left running (its process, its worker, its
embedded server: found by command line, which names the case's own folder); SIGTERM
and SIGINT exit 4 with the faults off; after SIGKILL ``harness cleanup`` removes
exactly the run's leftovers and spares the hand-made toxic; ``harness report``
rebuilds the run's report either way. The 18 cases share one target and one Toxiproxy
(a proxy set and a state folder per case) and run a few at a time in one module fixture
(tests/integration/safety/test_safety_kill.py holds the in-process SIGKILL cases).
"""

from __future__ import annotations

import itertools
import json
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from safety_helpers import (
    FOREIGN_TOXIC,
    HERE,
    Child,
    events,
    start_harness,
    wait_for,
    write_drill,
)

from harness.faults import ProxySpec, ToxiproxyAdapter
from toxiserver import start_subprocess

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]  # one fixture runs all 18 drills

SIGNALS = {"SIGKILL": signal.SIGKILL, "SIGTERM": signal.SIGTERM, "SIGINT": signal.SIGINT}
MOMENTS = ("before_faults", "fault_applied", "read_back")
SETUPS = ("embedded", "external")
CASES = list(itertools.product(SETUPS, SIGNALS, MOMENTS))
AT_ONCE = 4  # drills running at the same time (each with a worker process)
ERRORS_LOW = [{"type": "error_rate", "max_ratio": 0.5}]
READ_HOLD_S = 2.0  # every read-back request waits this long (the client gives up at 3 s)


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        if self.path.startswith("/api/items/"):  # /api/items/<case>/<id>: a read-back
            self.server.reading.add(self.path.split("/")[3])  # type: ignore[attr-defined]
            time.sleep(READ_HOLD_S)
        self._answer(200, b'{"ok": true}')

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        item = next(self.server.ids)  # type: ignore[attr-defined]
        self._answer(201, json.dumps({"id": str(item)}).encode())

    def _answer(self, status: int, body: bytes) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # the drill went away mid-answer

    def log_message(self, *args: Any) -> None:
        pass


class WriteTarget:
    """Pings, writes (201 with an id), and slow read-backs; ``reading`` names the cases seen."""

    def __init__(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.ids = itertools.count(1)  # type: ignore[attr-defined]
        self.server.reading = set()  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    @property
    def reading(self) -> set[str]:
        return self.server.reading  # type: ignore[attr-defined]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@dataclass
class Outcome:
    """What one case saw."""

    case: str
    code: int | None = None
    left_running: list[str] = field(default_factory=list)
    state_after_signal: dict[str, tuple[bool, list[str]]] = field(default_factory=dict)
    cleanup: Child | None = None
    state_after_cleanup: dict[str, tuple[bool, list[str]]] = field(default_factory=dict)
    ledgers_left: list[str] = field(default_factory=list)
    report: Child | None = None
    run_dir: Path | None = None
    drill: Child | None = None
    error: str | None = None


def _processes_naming(token: str) -> list[str]:
    """Live processes whose command line contains ``token`` (zombies excluded)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (proc / "stat").read_text().rsplit(")", 1)[-1].split()[0]
        except OSError:
            continue
        if token in cmdline and state != "Z":
            found.append(f"{proc.name}: {cmdline.strip()}")
    return found


def _state(adapter: ToxiproxyAdapter, names: list[str]) -> dict[str, tuple[bool, list[str]]]:
    proxies = adapter.proxies()
    return {
        n: (proxies[n].enabled, sorted(t.name for t in proxies[n].toxics))
        for n in names
        if n in proxies
    }


def _run_case(
    case: tuple[str, str, str], root: Path, target: WriteTarget, toxi_url: str
) -> Outcome:
    setup, sig, moment = case
    name = f"{setup}-{sig}-{moment}".lower().replace("_", "-")
    out = Outcome(name)
    folder = root / name
    state_dir = folder / "state"
    scenario = folder / "scenario.py"  # in the case's folder: the worker's command line names it
    folder.mkdir(parents=True)
    shutil.copy(HERE / "safety_write_scenario.py", scenario)
    adapter = ToxiproxyAdapter(toxi_url)
    proxies = [f"{name}-a", f"{name}-b"]
    broken = [
        {"name": "dep-a-slow", "proxy": proxies[0], "type": "latency", "latency_ms": 50},
        {"name": "dep-b-down", "proxy": proxies[1], "type": "down"},
    ]
    extra: dict[str, Any] = {
        "writes": [
            {"endpoint": "items:create", "id_field": "id", "read_path": f"/api/items/{name}/{{id}}"}
        ]
    }
    if setup == "embedded":
        extra["toxiproxy"] = {"url": "embedded"}
        extra["proxies"] = [{"name": p, "upstream": target.address} for p in proxies]
    else:
        adapter.ensure_proxies([ProxySpec(p, target.address) for p in proxies])
        adapter.add_toxic(proxies[0], FOREIGN_TOXIC)
        extra["proxies"] = [{"name": p} for p in proxies]
    drill = write_drill(
        folder,
        "matrix",
        [
            {"name": "base", "duration_s": 3, "checks": ERRORS_LOW},
            {"name": "broken", "duration_s": 1.5, "faults": ["deps-broken"]},
            {"name": "after", "duration_s": 0.5, "checks": ERRORS_LOW},
        ],
        faults={"deps-broken": broken},
        scenario=scenario,
        users=2,
        **extra,
    )
    text = drill.read_text().replace("spawn_rate_per_s: 100", "spawn_rate_per_s: 100\n  workers: 1")
    drill.write_text(text)
    run_dir = out.run_dir = folder / name  # run id = case: toxic names differ between cases
    args = [
        "run", str(drill), "--live", "off", "--reports-dir", str(folder), "--run-id", name,
        "--target-url", f"http://{target.address}",
    ]  # fmt: skip
    if setup == "external":
        args += ["--toxiproxy-url", toxi_url]
    env_state = {"HARNESS_STATE_DIR": str(state_dir)}
    child = out.drill = _start(args, folder / "logs", env_state)
    try:
        if moment == "before_faults":
            wait_for(lambda: events(run_dir, "phase_started"), 60, child, "the base phase")
        elif moment == "fault_applied":
            wait_for(lambda: len(events(run_dir, "fault_applied")) >= 2, 60, child, "the faults")
        else:
            wait_for(lambda: name in target.reading, 60, child, "the read-back")
        if moment != "read_back":
            assert not events(run_dir, "run_ended"), "signalled too late"
        child.signal(SIGNALS[sig])
        out.code = child.wait(60)
    except Exception as exc:  # noqa: BLE001 - reported by the test of this case
        out.error = f"{type(exc).__name__}: {exc}\n{child.stderr[-3000:]}"
        return out
    finally:
        child.stop()
    deadline = time.monotonic() + 10
    while (left := _processes_naming(str(folder))) and time.monotonic() < deadline:
        time.sleep(0.1)
    out.left_running = left
    names = proxies
    out.state_after_signal = _state(adapter, names)
    out.cleanup = _harness(["cleanup", "--toxiproxy-url", toxi_url], folder / "logs", env_state)
    out.state_after_cleanup = _state(adapter, names)
    out.ledgers_left = sorted(p.name for p in state_dir.glob("ledger/*.json"))
    out.report = _harness(["report", str(run_dir)], folder / "logs", env_state)
    return out


def _start(args: list[str], logs: Path, env: dict[str, str]) -> Child:
    return start_harness(args, logs, env=env, background=True)  # heavy, judged on nothing timed


def _harness(args: list[str], logs: Path, env: dict[str, str]) -> Child:
    child = _start(args, logs, env)
    try:
        child.wait(60)
    finally:
        child.stop()
    return child


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[tuple, Outcome]]:
    """Every case, a few at a time, against one target and one shared Toxiproxy."""
    root = tmp_path_factory.mktemp("matrix")
    target = WriteTarget()
    try:
        with start_subprocess(port=0) as toxi:
            with ThreadPoolExecutor(AT_ONCE) as pool:
                futures = {c: pool.submit(_run_case, c, root, target, toxi.url) for c in CASES}
                results = {c: f.result() for c, f in futures.items()}
            yield results
    finally:
        target.stop()
        leftovers = _processes_naming(str(root))
        assert not leftovers, leftovers


def _check_common(out: Outcome) -> None:
    assert out.error is None, out.error
    assert out.left_running == [], out.left_running
    assert out.report is not None and out.cleanup is not None
    assert out.cleanup.proc.returncode == 0, out.cleanup.stderr
    assert "Traceback" not in out.drill.stderr if out.drill else True


@pytest.mark.parametrize(("setup", "sig", "moment"), CASES)
def test_signal_leaves_nothing_running_and_nothing_applied(
    outcomes: dict[tuple, Outcome], setup: str, sig: str, moment: str
) -> None:
    """After the signal: no process of the drill runs; its faults are off (after `cleanup` for
    SIGKILL), a hand-made toxic is untouched, no ledger is left, and `harness report` rebuilds."""
    out = outcomes[(setup, sig, moment)]
    _check_common(out)
    a, b = (f"{out.case}-a", f"{out.case}-b")
    assert out.report is not None and out.run_dir is not None
    if sig == "SIGKILL":
        assert out.code == -signal.SIGKILL
        assert out.report.proc.returncode == 3, out.report.stderr  # did not record its end
        assert "did not record its end" in out.report.stdout
    else:
        assert out.code == 4, out.drill.stderr if out.drill else ""
        assert f"stopped by {sig}" in (out.run_dir / "raw" / "journal.jsonl").read_text()
        assert out.report.proc.returncode == 4, out.report.stderr
    assert (out.run_dir / "report.json").is_file()
    foreign = ["ops-latency"] if setup == "external" else []
    if setup == "external":
        if sig == "SIGKILL" and moment == "fault_applied":  # left on, for cleanup to remove
            ours = f"harness.{out.case}.dep-a-slow"
            assert out.state_after_signal[a] == (True, [ours, "ops-latency"])
            assert out.state_after_signal[b][0] is False
            assert f"removed toxic '{ours}'" in out.cleanup.stdout
            assert f"proxy '{b}': re-enabled" in out.cleanup.stdout
        else:
            assert out.state_after_signal == out.state_after_cleanup
        assert out.state_after_cleanup == {a: (True, foreign), b: (True, [])}
    elif sig == "SIGKILL" and moment == "fault_applied":
        # the embedded server died with the drill, its faults with it; cleanup drops the ledger
        assert "had stopped with its drill" in out.cleanup.stdout, out.cleanup.stdout
    assert out.ledgers_left == []
