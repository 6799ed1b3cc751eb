"""Locust's distributed mode for drills: a MasterRunner here, workers in their own processes.

:class:`MasterLoad` binds a Locust master, starts ``load.workers`` local worker
processes (``python -m harness worker ...``, each in its own process group, so a
Ctrl-C in the terminal reaches only the harness, which then stops them in order),
waits until every expected worker has connected and said hello, and from
:meth:`MasterLoad.start` on sends them the drill's :class:`WorkerConfig`. The
closed-model level is set here (``runner.start`` dispatches users to workers).
Workers send their closed buckets, writes and live samples with every Locust
report (``report_to_master``, every ``WORKER_REPORT_INTERVAL_S``); the master's
``worker_report`` listener hands them to the drill's sinks. :meth:`MasterLoad.stop`
asks each worker to drain (requests in flight finish or are recorded as cut off)
and send its last data, quits them and makes sure no process is left.

Open model: every worker runs its own arrival gate; the master sends each ready
worker its share (:func:`~harness.load.protocol.worker_shares`: rate / workers,
``max_concurrency`` split) whenever the level or the set of workers changes, and
keeps each worker's cumulative issued and dropped arrivals (:attr:`MasterLoad.arrival_totals`).

A worker lost mid-drill (its local process exited, it quit, or Locust marked it
missing after its heartbeats stopped) is reported once through ``on_lost`` with a
sentence naming it: the load it carried is missing, so the run cannot be judged.

Environment variables (the drill file stays the same on every machine):

- ``HARNESS_MASTER_BIND_HOST``: interface the master listens on; default
  ``127.0.0.1``; ``*`` (all) for workers on other machines.
- ``HARNESS_MASTER_PORT``: default ``0`` (any free port, local workers only);
  e.g. ``5557`` for workers on other machines.
- ``HARNESS_EXPECT_WORKERS``: how many workers must connect before the drill
  starts; default ``load.workers`` (the local ones). Raise it to wait for remote
  workers too.
- ``HARNESS_WORKER_WAIT_S``: how long to wait for them; default 60.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import gevent
from locust import User
from locust import runners as locust_runners
from locust.env import Environment
from locust.runners import STATE_MISSING, MasterRunner

from harness.errors import InfrastructureError, InputError
from harness.load.classify import RequestClassifier
from harness.load.protocol import (
    LIVE_LAG_S,
    MSG_CONFIG,
    MSG_FINAL,
    MSG_HELLO,
    MSG_RATE,
    MSG_READY,
    MSG_STOP,
    REPORT_KEY,
    WORKER_REPORT_INTERVAL_S,
    WorkerConfig,
    WorkerRate,
    decode_arrivals,
    decode_batch,
    decode_health,
    worker_shares,
)
from harness.load.spec import LoadModel, LoadSpec

log = logging.getLogger(__name__)

FINAL_MARGIN_S = 5.0  # beyond load.drain_s: a worker's last report on its way
READY_TIMEOUT_S = 10.0
PROCESS_EXIT_TIMEOUT_S = 5.0
WATCH_EVERY_S = 0.2  # how often the master looks for lost workers


class MasterLoad:
    """The master side of a distributed drill: Locust master, worker processes, data routing."""

    def __init__(
        self,
        spec: LoadSpec,
        user_classes: list[type[User]],
        *,
        target_url: str,
        scenario_path: Path,
        bucket_s: float,
        classifier: RequestClassifier,
        on_rows: Any,
        on_write: Any,
        on_live: Any,
        on_health: Any = None,
        on_lost: Any = None,
    ) -> None:
        self.spec = spec
        self.classifier = classifier
        self.on_rows = on_rows
        self.on_write = on_write
        self.on_live = on_live
        self.on_health = on_health  # each worker's own health rows (GeneratorRow)
        self.on_lost = on_lost  # called once per worker lost mid-drill, with a sentence
        self.open_model = spec.model is LoadModel.OPEN
        self.scenario_path = scenario_path
        self.bucket_s = bucket_s
        self.user_class_names = [c.__name__ for c in user_classes]
        self.expected = int(os.environ.get("HARNESS_EXPECT_WORKERS") or spec.workers)
        self.wait_s = float(os.environ.get("HARNESS_WORKER_WAIT_S") or 60)
        if self.open_model and spec.max_concurrency < self.expected:
            raise InputError(
                f"load.max_concurrency {spec.max_concurrency} is below the {self.expected} "
                "Locust workers of this open-model drill: each worker needs at least one user; "
                "raise load.max_concurrency or use fewer workers"
            )
        self.config: WorkerConfig | None = None
        self.hello: dict[str, int] = {}  # client id -> worker pid
        self.ready: set[str] = set()
        self.final: set[str] = set()
        self.requests_by_worker: dict[str, int] = {}
        self.arrivals_by_worker: dict[str, tuple[int, int]] = {}  # open model: issued, dropped
        self.lost: set[str] = set()
        self._rate_per_s = 0.0
        self._shares: dict[str, WorkerRate] = {}
        self._watch: gevent.Greenlet | None = None
        self.processes: list[tuple[subprocess.Popen, Path]] = []
        self._want: int | None = None
        self._applied = 0
        self._levels: gevent.Greenlet | None = None
        self._stopped = False
        self.env = Environment(user_classes=list(user_classes), host=target_url)
        self.runner = self._bind()
        try:
            self._start_processes()
            self._wait_for_hello()
        except BaseException:
            self.stop()
            raise

    # -- set-up ------------------------------------------------------------------------

    def _bind(self) -> MasterRunner:
        bind_host = os.environ.get("HARNESS_MASTER_BIND_HOST") or "127.0.0.1"
        port = int(os.environ.get("HARNESS_MASTER_PORT") or 0)
        try:
            runner = self.env.create_master_runner(bind_host, port)
        except SystemExit:  # Locust exits when the port is taken; say it as a sentence
            raise InfrastructureError(
                f"the Locust master could not listen on {bind_host}:{port} (port in use?); "
                "free it or set HARNESS_MASTER_PORT to another port (0: any free port)"
            ) from None
        self.port = runner.server.port
        runner.master_bind_port = self.port  # a connection reset must rebind the same port
        self.bind_host = bind_host
        runner.register_message(MSG_HELLO, self._on_hello)
        runner.register_message(MSG_READY, self._on_ready)
        runner.register_message(MSG_FINAL, self._on_final)
        self.env.events.worker_report.add_listener(self._on_report)
        log.info("Locust master listening on %s:%d", bind_host, self.port)
        return runner

    def worker_command(self) -> list[str]:
        """The command line of one local worker process."""
        connect = "127.0.0.1" if self.bind_host in ("*", "0.0.0.0", "::", "") else self.bind_host
        command = [
            sys.executable,
            "-m",
            "harness",
            "worker",
            "--master-host",
            connect,
            "--master-port",
            str(self.port),
            "--scenario",
            str(self.scenario_path),
            "--exit-with-parent",
            str(os.getpid()),
        ]
        if self.user_class_names:
            command += ["--user-classes", *self.user_class_names]
        return command

    def _start_processes(self) -> None:
        for index in range(self.spec.workers):
            fd, name = tempfile.mkstemp(prefix=f"harness-worker-{index}-", suffix=".log")
            os.close(fd)
            log_file = Path(name)
            with log_file.open("wb") as stderr:
                process = subprocess.Popen(
                    self.worker_command(),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=stderr,
                    start_new_session=True,  # own process group: a terminal's Ctrl-C spares it
                )
            self.processes.append((process, log_file))

    def _wait_for_hello(self) -> None:
        deadline = time.monotonic() + self.wait_s
        while len(self.hello) < self.expected:
            for process, log_file in self.processes:
                if process.poll() is not None:
                    raise InfrastructureError(
                        f"Locust worker process {process.pid} exited with code "
                        f"{process.returncode} before the drill started: {_tail(log_file)}"
                    )
            if time.monotonic() > deadline:
                raise InfrastructureError(
                    f"only {len(self.hello)} of {self.expected} Locust workers connected to the "
                    f"master on port {self.port} within {self.wait_s:g} s; start the missing "
                    "ones (`harness worker --master-host <this host>`) or lower HARNESS_EXPECT_WORKERS"
                )
            gevent.sleep(0.05)

    # -- messages ----------------------------------------------------------------------

    def _on_hello(self, environment: Environment, msg: Any, **_: Any) -> None:
        self.hello[msg.node_id] = int((msg.data or {}).get("pid", 0))
        self.requests_by_worker.setdefault(msg.node_id, 0)
        if self.config is not None:  # a worker joining a running drill
            self.runner.send_message(MSG_CONFIG, self._config_data(), client_id=msg.node_id)

    def _on_ready(self, environment: Environment, msg: Any, **_: Any) -> None:
        self.ready.add(msg.node_id)
        if self._watch is not None:  # a worker joining a running drill: new shares
            self._send_rates()

    def _on_final(self, environment: Environment, msg: Any, **_: Any) -> None:
        self._deliver(msg.node_id, msg.data or {})
        self.final.add(msg.node_id)

    def _on_report(self, client_id: str, data: dict[str, Any], **_: Any) -> None:
        payload = data.get(REPORT_KEY)
        if payload:
            self._deliver(client_id, payload)

    def _deliver(self, client_id: str, payload: dict[str, Any]) -> None:
        rows, writes, live = decode_batch(payload)
        arrivals = decode_arrivals(payload)
        if arrivals is not None:  # cumulative: the latest report wins
            self.arrivals_by_worker[client_id] = arrivals
        if rows:
            self.requests_by_worker[client_id] = self.requests_by_worker.get(client_id, 0) + sum(
                r.count for r in rows
            )
            self.on_rows(rows)
        for write in writes:
            self.on_write(write)
        if self.on_health is not None:
            for row in decode_health(payload):
                self.on_health(row)
        if self.on_live is not None:
            for t_s, outcome, latency_ms in live:
                self.on_live(t_s + LIVE_LAG_S, outcome, latency_ms)

    def _config_data(self) -> dict[str, Any]:
        assert self.config is not None
        return self.config.model_dump(mode="json", by_alias=True)

    # -- the run -----------------------------------------------------------------------

    def start(self) -> None:
        """Drill time starts now: configure every worker, then follow :meth:`set_users`."""
        self.config = WorkerConfig(
            t0_unix_s=self.classifier.t0_unix_s,
            bucket_s=self.bucket_s,
            outcomes=self.classifier.rules,
            writes=list(self.classifier.writes.values()),
            drain_s=self.spec.drain_s,
            open_model=self.open_model,
        )
        self.runner.send_message(MSG_CONFIG, self._config_data())
        deadline = time.monotonic() + READY_TIMEOUT_S
        while len(self.ready) < min(self.expected, len(self.hello)):
            if time.monotonic() > deadline:
                raise InfrastructureError(
                    f"only {len(self.ready)} of {self.expected} Locust workers accepted the drill "
                    f"configuration within {READY_TIMEOUT_S:g} s"
                )
            gevent.sleep(0.01)
        if self.open_model:  # every user waits for its worker's arrivals
            self._send_rates()
            self._want = self.spec.max_concurrency
        self._levels = gevent.spawn(self._follow_levels)
        self._watch = gevent.spawn(self._watch_workers)

    def set_level(self, level: float) -> None:
        """Users (closed model) or arrivals a second over all workers (open model)."""
        if not self.open_model:
            self._want = max(int(round(level)), 0)
            return
        self._rate_per_s = max(level, 0.0)
        self._send_rates()

    def _active(self) -> list[str]:
        return [c for c in self.ready if c not in self.lost]

    def _send_rates(self) -> None:
        """Send each active worker its share of the rate, where it changed."""
        if not self.open_model or self._stopped:
            return
        shares = worker_shares(self._rate_per_s, self.spec.max_concurrency, self._active())
        for client_id, share in shares.items():
            if self._shares.get(client_id) != share:
                self.runner.send_message(
                    MSG_RATE, share.model_dump(mode="json"), client_id=client_id
                )
        self._shares = shares

    @property
    def arrival_totals(self) -> dict[str, Any]:
        """Open model: arrivals issued and dropped over all workers, and per worker; {} closed."""
        if not self.open_model:
            return {}
        per_worker = {
            self.worker_name(c): {"intended_arrivals": issued, "dropped_arrivals": dropped}
            for c, (issued, dropped) in sorted(self.arrivals_by_worker.items())
        }
        return {
            "intended_arrivals": sum(w["intended_arrivals"] for w in per_worker.values()),
            "dropped_arrivals": sum(w["dropped_arrivals"] for w in per_worker.values()),
            "workers": per_worker,
        }

    def worker_name(self, client_id: str) -> str:
        """``worker-<pid>``, as the worker names its own health rows."""
        pid = self.hello.get(client_id)
        return f"worker-{pid}" if pid else client_id

    # -- lost workers ------------------------------------------------------------------

    def _watch_workers(self) -> None:
        while True:
            gevent.sleep(WATCH_EVERY_S)
            self._check_lost()

    def _check_lost(self) -> list[str]:
        """Report every worker newly gone (once each); return the ids of all lost so far."""
        for client_id in sorted(self._active()):
            reason = self._gone(client_id)
            if reason is None:
                continue
            self.lost.add(client_id)
            message = (
                f"Locust worker {self.worker_name(client_id)} ({client_id}) was lost "
                f"mid-drill: {reason}; the load it carried is missing, so this run cannot be "
                "judged - find out why it died (memory, a kill, the network) and run the drill again"
            )
            log.error(message)
            if self.on_lost is not None:
                self.on_lost(message)
        return sorted(self.lost)

    def _gone(self, client_id: str) -> str | None:
        """Why a ready worker is gone, or None while it is there."""
        pid = self.hello.get(client_id)
        for process, log_file in self.processes:
            if process.pid == pid and process.poll() is not None:
                tail = _tail(log_file, lines=3)
                return f"its process exited with code {process.returncode} (log: {tail})"
        client = self.runner.clients.get(client_id)
        if client is None:
            return "it disconnected from the master"
        if client.state == STATE_MISSING:
            return "it stopped sending heartbeats (Locust marked it missing)"
        return None

    def _follow_levels(self) -> None:
        """Apply the latest level, one ``runner.start`` at a time (it blocks while it ramps)."""
        while True:
            want = self._want
            if want is not None and want != self._applied:
                self._applied = want
                self.runner.start(want, spawn_rate=self.spec.spawn_rate_per_s)
            else:
                gevent.sleep(0.05)

    @property
    def user_count(self) -> int:
        return self.runner.user_count

    def stop(self) -> None:
        """Collect the workers' last data, quit them, and leave no process behind; idempotent."""
        if self._stopped:
            return
        if self._watch is not None:
            self._watch.kill(block=True)
            self._check_lost()  # one that died since the last look
        self._stopped = True
        if self._levels is not None:
            self._levels.kill(block=True)
        try:
            self._collect_final()
        finally:
            try:
                self.runner.quit()
                self.runner.server.close(linger=0)
            finally:
                self._stop_processes()

    def _collect_final(self) -> None:
        asked = [c for c in self._active() if c in self.runner.clients]
        for client_id in asked:
            self.runner.send_message(MSG_STOP, None, client_id=client_id)
        deadline = time.monotonic() + self.spec.drain_s + FINAL_MARGIN_S
        while any(c not in self.final and c not in self.lost for c in asked):
            if self._watch is not None:
                self._check_lost()  # one dying while it drains: no final data to wait for
            if time.monotonic() > deadline:
                missing = [c for c in asked if c not in self.final]
                log.warning("no final data from Locust worker(s) %s", ", ".join(missing))
                return
            gevent.sleep(0.02)

    def _stop_processes(self) -> None:
        deadline = time.monotonic() + PROCESS_EXIT_TIMEOUT_S
        for process, _log in self.processes:
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGTERM)
        for process, _log in self.processes:
            try:
                process.wait(timeout=3)
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait(timeout=3)
            # the worker is gone; its process group may still hold children it started
            _signal_group(process, signal.SIGKILL)
        for process, log_file in self.processes:
            if process.returncode not in (0, None) and not self._quiet_exit(process):
                log.warning(
                    "Locust worker %d exited with code %s: %s",
                    process.pid,
                    process.returncode,
                    _tail(log_file),
                )
            log_file.unlink(missing_ok=True)

    @staticmethod
    def _quiet_exit(process: subprocess.Popen) -> bool:
        return process.returncode in (-signal.SIGTERM, -signal.SIGKILL)


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    try:
        os.killpg(process.pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def _tail(path: Path, lines: int = 8) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return "(no log)"
    return " | ".join(text[-lines:]) or "(no output)"


locust_runners.WORKER_REPORT_INTERVAL = WORKER_REPORT_INTERVAL_S  # harmless on the master
