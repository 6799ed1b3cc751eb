"""Start and stop a whole helpdesk: six dependency processes and the front.

Each process runs ``python -m helpdesk.serve <role>`` in its own process group and
session; ``<state_dir>/state.json`` lists pids and ports so that :func:`stop_system`
(or ``helpdesk down`` from another shell) can stop everything: SIGTERM to each
group, a grace period, then SIGKILL.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from helpdesk.config import DEPENDENCIES, FrontConfig, FrontSettings, Mechanism
from helpdesk.errors import PortInUse, StartupError
from helpdesk.serve import port_file

STATE_FILE = "state.json"
STOP_GRACE_S = 5.0
PROXY_PREFIX = "helpdesk_"


@dataclass(frozen=True)
class SystemConfig:
    """What to start. Fields after ``agents`` are extensions with harmless defaults."""

    state_dir: Path
    host: str = "127.0.0.1"
    front_port: int = 0  # 0 = pick a free port
    toxiproxy_url: str | None = None  # when set, route every dependency through Toxiproxy
    disabled: frozenset[Mechanism] = frozenset()
    agents: int = 2
    settings: FrontSettings = FrontSettings()  # the front's tunables (timeouts, shedding...)
    agent_handle_s: float = 30.0  # how long an agent is busy with one customer
    # dependency -> URL to use instead of starting that dependency's process
    dependency_url_overrides: Mapping[str, str] = field(default_factory=dict)


@dataclass
class _Proc:
    role: str
    pid: int
    port: int
    popen: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def pid_alive(pid: int) -> bool:
    """True if ``pid`` runs (a zombie counts as gone); reaps it if it is our child."""
    with contextlib.suppress(ChildProcessError, OSError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)  # each process leads its own group (start_new_session)


def _terminate(procs: list[_Proc], grace_s: float = STOP_GRACE_S) -> None:
    """SIGTERM every group, wait up to ``grace_s``, SIGKILL what is left, reap children."""
    for p in procs:
        _signal_group(p.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and any(pid_alive(p.pid) for p in procs):
        time.sleep(0.05)
    for p in procs:
        if pid_alive(p.pid):
            _signal_group(p.pid, signal.SIGKILL)
    for p in procs:
        if p.popen is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.popen.wait(timeout=grace_s)
        else:
            end = time.monotonic() + grace_s
            while pid_alive(p.pid) and time.monotonic() < end:
                time.sleep(0.05)


class RunningSystem:
    """A started helpdesk; a context manager that stops everything on exit."""

    def __init__(self, config: SystemConfig) -> None:
        self.config = config
        self.state_dir = config.state_dir
        self.events_path = config.state_dir / "events.jsonl"
        self.front_url = ""
        self.dependency_urls: dict[str, str] = {}  # what the front calls (proxies if any)
        self.direct_urls: dict[str, str] = {}  # the dependency processes themselves
        self.proxy_names: dict[str, str] = {}
        self._procs: dict[str, _Proc] = {}

    # ---- context manager -------------------------------------------------------------
    def __enter__(self) -> RunningSystem:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def pids(self) -> dict[str, int]:
        """Role -> pid of every process this system started and still tracks."""
        return {role: p.pid for role, p in self._procs.items()}

    # ---- single processes ------------------------------------------------------------
    def _spawn(self, role: str, port: int, env: Mapping[str, str] | None = None) -> _Proc:
        announce = port_file(self.state_dir, role)
        announce.unlink(missing_ok=True)
        logs = self.state_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        child_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        child_env["HELPDESK_AGENT_HANDLE_S"] = str(self.config.agent_handle_s)
        cmd = _serve_command(role, self.config.host, port, self.state_dir, self.config.agents)
        with (logs / f"{role}.log").open("ab") as log:
            popen = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=child_env, start_new_session=True,
            )  # fmt: skip
        proc = _Proc(role, popen.pid, port, popen)
        self._procs[role] = proc
        self._save_state()
        return proc

    def _wait_ready(self, procs: list[_Proc], deadline: float) -> None:
        pending = list(procs)
        with httpx.Client(timeout=0.5, trust_env=False) as http:
            while pending:
                for p in list(pending):
                    if p.popen is not None and p.popen.poll() is not None:
                        raise StartupError(self._died_message(p))
                    if p.port == 0:
                        announce = port_file(self.state_dir, p.role)
                        if announce.exists():
                            p.port = int(announce.read_text())
                            self._save_state()
                        continue
                    with contextlib.suppress(httpx.HTTPError):
                        if (
                            http.get(f"http://{self.config.host}:{p.port}/healthz").status_code
                            == 200
                        ):
                            pending.remove(p)
                if pending and time.monotonic() > deadline:
                    names = ", ".join(p.role for p in pending)
                    raise StartupError(
                        f"helpdesk process(es) {names} did not answer /healthz in time; "
                        f"see the logs in {self.state_dir / 'logs'}"
                    )
                if pending:
                    time.sleep(0.05)

    def _died_message(self, p: _Proc) -> str:
        log = self.state_dir / "logs" / f"{p.role}.log"
        tail = log.read_text(errors="replace").strip().splitlines()[-1:] if log.exists() else []
        why = tail[0] if tail else "no output"
        return f"helpdesk process {p.role} exited during startup: {why} (log: {log})"

    def stop_dependency(self, name: str) -> None:
        """Stop one dependency process (SIGTERM, then SIGKILL); its port stays reserved."""
        proc = self._procs.get(name)
        if proc is None or name == "front":
            raise StartupError(
                f"no dependency process {name!r} runs (known: {sorted(self._procs)})"
            )
        _terminate([proc])
        proc.pid = -1
        self._save_state()

    def kill_dependency(self, name: str) -> None:
        """Kill one dependency process with SIGKILL, like a crash."""
        proc = self._procs[name]
        _signal_group(proc.pid, signal.SIGKILL)
        _terminate([proc], grace_s=2)
        proc.pid = -1
        self._save_state()

    def start_dependency(self, name: str, ready_timeout_s: float = 10) -> None:
        """Start a stopped dependency process again on the same port."""
        old = self._procs.get(name)
        if old is None:
            raise StartupError(f"{name!r} is not a dependency this system started")
        if old.pid > 0 and pid_alive(old.pid):
            return
        proc = self._spawn(name, old.port)
        self._wait_ready([proc], time.monotonic() + ready_timeout_s)

    # ---- the whole system ------------------------------------------------------------
    def _start(self, ready_timeout_s: float) -> None:
        deadline = time.monotonic() + ready_timeout_s
        overrides = dict(self.config.dependency_url_overrides)
        started = [self._spawn(d, 0) for d in DEPENDENCIES if d not in overrides]
        self._wait_ready(started, deadline)
        self.direct_urls = {p.role: p.url for p in started} | overrides
        self.dependency_urls = dict(self.direct_urls)
        if self.config.toxiproxy_url:
            self._create_proxies()
        front_config = FrontConfig(
            state_dir=self.state_dir,
            dependency_urls=self.dependency_urls,
            disabled=self.config.disabled,
            settings=self.config.settings,
        )
        front = self._spawn("front", self.config.front_port, front_config.to_env())
        self._wait_ready([front], deadline)
        self.front_url = f"http://{self.config.host}:{front.port}"
        self._save_state()

    def _create_proxies(self) -> None:
        url = str(self.config.toxiproxy_url).rstrip("/")
        wanted = [
            {
                "name": f"{PROXY_PREFIX}{dep}",
                "listen": "127.0.0.1:0",
                "upstream": target.removeprefix("http://").split("/", 1)[0],
                "enabled": True,
            }
            for dep, target in self.direct_urls.items()
        ]
        try:
            response = httpx.post(f"{url}/populate", json=wanted, timeout=5, trust_env=False)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise StartupError(f"cannot create proxies on Toxiproxy at {url}: {exc}") from exc
        body = response.json()
        created = body.get("proxies", []) if isinstance(body, dict) else body
        listens = {p["name"]: p["listen"] for p in created}
        for dep in self.direct_urls:
            name = f"{PROXY_PREFIX}{dep}"
            listen = listens.get(name, "")
            port = listen.rsplit(":", 1)[-1]
            if not port.isdigit() or port == "0":
                raise StartupError(
                    f"Toxiproxy at {url} did not report a listen port for proxy {name!r} "
                    f"(got {listen!r})"
                )
            self.proxy_names[dep] = name
            self.dependency_urls[dep] = f"http://127.0.0.1:{port}"
        self._save_state()

    def _save_state(self) -> None:
        state = {
            "front_url": self.front_url,
            "processes": {r: {"pid": p.pid, "port": p.port} for r, p in self._procs.items()},
            "dependency_urls": self.dependency_urls,
            "proxy_names": self.proxy_names,
            "toxiproxy_url": self.config.toxiproxy_url,
            "disabled": sorted(m.value for m in self.config.disabled),
            "host": self.config.host,
            "agents": self.config.agents,
            "agent_handle_s": self.config.agent_handle_s,
        }
        _write_state(self.state_dir, state)

    def stop(self) -> None:
        """Stop every process and remove the proxies; safe to call twice.

        Also stops processes started since by ``helpdesk restart`` (state.json has their pid)."""
        procs = [p for p in self._procs.values() if p.pid > 0]
        procs += _restarted(self.state_dir, {p.pid for p in procs})
        _terminate(procs)
        _delete_proxies(self.config.toxiproxy_url, list(self.proxy_names.values()))
        self._procs.clear()
        self.proxy_names.clear()
        (self.state_dir / STATE_FILE).unlink(missing_ok=True)


def _serve_command(role: str, host: str, port: int, state_dir: Path, agents: int) -> list[str]:
    return [
        sys.executable, "-m", "helpdesk.serve", role,
        "--host", host, "--port", str(port),
        "--state-dir", str(state_dir), "--agents", str(agents),
    ]  # fmt: skip


def _is_helpdesk(pid: int) -> bool:
    try:
        return b"helpdesk.serve" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _restarted(state_dir: Path, known: set[int]) -> list[_Proc]:
    """Processes state.json lists that we do not track (restarted by ``helpdesk restart``)."""
    state = read_state(state_dir) or {}
    return [
        _Proc(role, int(p["pid"]), int(p["port"]))
        for role, p in state.get("processes", {}).items()
        if int(p["pid"]) > 0 and int(p["pid"]) not in known and _is_helpdesk(int(p["pid"]))
    ]


def restart_dependency(state_dir: Path, role: str, ready_timeout_s: float = 20) -> int:
    """Start a dependency that died (a crash, a kill) again on its port; return its pid.

    For ``helpdesk restart``: run from any shell (or by a harness ``kill`` fault's
    ``restart`` command), it reads ``<state_dir>/state.json``, does nothing when
    the process still runs, and returns once the new process answers /healthz.
    """
    state = read_state(state_dir)
    procs = (state or {}).get("processes", {})
    if role not in procs or role == "front":
        raise StartupError(
            f"no dependency {role!r} in {state_dir / STATE_FILE} (known: "
            f"{', '.join(r for r in procs if r != 'front') or 'none: is the helpdesk up?'})"
        )
    old = procs[role]
    if int(old["pid"]) > 0 and pid_alive(int(old["pid"])):
        return int(old["pid"])
    host = str(state.get("host", "127.0.0.1"))  # type: ignore[union-attr]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env["HELPDESK_AGENT_HANDLE_S"] = str(state.get("agent_handle_s", 30.0))  # type: ignore[union-attr]
    cmd = _serve_command(role, host, int(old["port"]), state_dir, int(state.get("agents", 2)))  # type: ignore[union-attr]
    logs = state_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    with (logs / f"{role}.log").open("ab") as log:
        popen = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=env, start_new_session=True,
        )  # fmt: skip
    proc = _Proc(role, popen.pid, int(old["port"]), popen)
    deadline = time.monotonic() + ready_timeout_s
    with httpx.Client(timeout=0.5, trust_env=False) as http:
        while True:
            if popen.poll() is not None:
                raise StartupError(f"helpdesk process {role} exited during restart (see {logs})")
            with contextlib.suppress(httpx.HTTPError):
                if http.get(f"http://{host}:{proc.port}/healthz").status_code == 200:
                    break
            if time.monotonic() > deadline:
                _terminate([proc], grace_s=2)
                raise StartupError(
                    f"helpdesk process {role} did not answer /healthz within "
                    f"{ready_timeout_s:g} s of its restart; see {logs / f'{role}.log'}"
                )
            time.sleep(0.05)
    state = read_state(state_dir) or state or {}
    state.setdefault("processes", {})[role] = {"pid": popen.pid, "port": proc.port}
    _write_state(state_dir, state)
    return popen.pid


def _write_state(state_dir: Path, state: dict[str, Any]) -> None:
    path = state_dir / STATE_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2))
    tmp.replace(path)


def read_state(state_dir: Path) -> dict[str, Any] | None:
    """Return the state file of ``state_dir``, or None when nothing was started there."""
    path = state_dir / STATE_FILE
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except ValueError:
        return None


def _delete_proxies(toxiproxy_url: str | None, names: list[str]) -> None:
    if not toxiproxy_url or not names:
        return
    with httpx.Client(timeout=2, trust_env=False) as http:
        for name in names:
            with contextlib.suppress(httpx.HTTPError):
                http.delete(f"{toxiproxy_url.rstrip('/')}/proxies/{name}")


def _check_port_free(host: str, port: int) -> None:
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            raise PortInUse(
                f"port {port} on {host} is already in use; pick another with --port"
            ) from None


def start_system(config: SystemConfig, ready_timeout_s: float = 20) -> RunningSystem:
    """Start the dependencies, the proxies (if Toxiproxy is given) and the front."""
    config.state_dir.mkdir(parents=True, exist_ok=True)
    state = read_state(config.state_dir)
    if state and any(pid_alive(p["pid"]) for p in state["processes"].values() if p["pid"] > 0):
        raise StartupError(
            f"a helpdesk already runs from {config.state_dir}; stop it with "
            f"'helpdesk down --state-dir {config.state_dir}'"
        )
    _check_port_free(config.host, config.front_port)
    system = RunningSystem(config)
    try:
        system._start(ready_timeout_s)
    except BaseException:
        system.stop()
        raise
    return system


def stop_system(state_dir: Path) -> None:
    """Stop what ``<state_dir>/state.json`` lists; safe when nothing runs."""
    state = read_state(state_dir)
    if state is None:
        return
    procs = [
        _Proc(role, int(p["pid"]), int(p["port"]))
        for role, p in state.get("processes", {}).items()
        if int(p["pid"]) > 0
    ]
    _terminate(procs)
    _delete_proxies(state.get("toxiproxy_url"), list(state.get("proxy_names", {}).values()))
    (state_dir / STATE_FILE).unlink(missing_ok=True)
