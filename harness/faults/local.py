"""Process and command faults: act them out on this machine, and undo them even after a crash.

``kill``, ``stop`` and ``command`` faults have no proxy. :func:`prepare` turns
one into a :class:`LocalAction`: what to do now (a signal, a command) and the
*pending revert* to do at the window's end, a small JSON document written to
the run's ledger (``<ledger_dir>/local/<run_id>.json``, same format, same
fsync-before-the-change rule, same owner check as the Toxiproxy ledger) before
the action happens:

    {"do": "sigcont", "pid": 4242, "start_time": "98765"}          stop
    {"do": "command", "what": "restart", "cmd": [...], "shell": false,
     "timeout_s": 30, "cwd": "/work"}                               kill with restart
    {"do": "command", "what": "revert", ...}                        command
    {"do": "nothing"}                                               kill without restart

The local ledger is a folder of its own because these reverts belong to this
host, not to a Toxiproxy server: the Toxiproxy sweep (per server URL) and the
local one (per host) never rewrite each other's files.

:func:`run_pending_reverts` — run by ``harness cleanup`` and at every drill's
preflight — runs the pending reverts of dead runs (or of one run id), under an
exclusive lock on the folder, and removes each entry once it succeeded, so each
revert runs once. (A cleanup killed between a revert and the ledger rewrite
would run that one again; a failed revert stays for the next cleanup.)

Commands are argument lists run without a shell unless ``shell: true``; each
runs in its own session with a time limit (the whole group is killed when it
runs out), and its exit code, duration and the tail of its output are returned
for the journal. ``${NAME}`` in a pid file, a pattern or a command is the
environment variable NAME, read when the fault is applied.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import FaultActionError, InputError
from harness.faults.ledger import LedgerFile, owner_alive, read_ledgers, save_ledger
from harness.faults.model import ENV_REFERENCE, Fault, ProcessTarget
from harness.faults.process import find_process, send_signal, signal_by_name, start_time
from harness.faults.registry import COMMAND, KILL, STOP

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "OUTPUT_LIMIT",
    "CommandResult",
    "LocalAction",
    "expand_vars",
    "local_ledger_dir",
    "prepare",
    "revert_pending",
    "run_command",
    "run_pending_reverts",
]

DEFAULT_TIMEOUT_S = 30.0
OUTPUT_LIMIT = 1000
"""Characters of a command's output kept for the journal (its tail)."""


def local_ledger_dir(ledger_dir: Path) -> Path:
    """Where the ledgers of process and command faults live."""
    return Path(ledger_dir) / "local"


def expand_vars(text: str, environ: Mapping[str, str], *, fault: str) -> str:
    """``text`` with each ``${NAME}`` replaced by the environment variable NAME (set, not empty)."""

    def value(match: Any) -> str:
        name = match.group(1)
        if not environ.get(name):
            raise InputError(
                f"fault '{fault}': environment variable {name} is not set (or empty) - "
                f"export {name}=... before running"
            )
        return environ[name]

    return ENV_REFERENCE.sub(value, text)


@dataclass(frozen=True)
class CommandResult:
    """How a command ended: exit code (None when stopped at its time limit), time, output tail."""

    cmd: list[str] | str
    exit_code: int | None
    duration_s: float
    output: str

    @property
    def ok(self) -> bool:
        """Exited 0 within its time limit."""
        return self.exit_code == 0

    def describe(self, what: str) -> str:
        """``apply [docker, stop, db] exited 0 in 0.12 s; output: ...`` for the journal."""
        ended = (
            f"exited {self.exit_code}"
            if self.exit_code is not None
            else "was killed at its time limit"
        )
        text = f"{what} {self.cmd!r} {ended} in {self.duration_s:.2f} s"
        return text + (f"; output: {self.output}" if self.output else "; no output")


def run_command(
    cmd: list[str] | str,
    *,
    shell: bool,
    timeout_s: float,
    cwd: str | None = None,
    before_start: Callable[[], None] | None = None,
) -> CommandResult:
    """Run ``cmd`` (its own session, stdin closed) for at most ``timeout_s``; never raises for
    its exit code. ``before_start`` is called right before the process is started."""
    if before_start is not None:
        before_start()
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            cmd,
            shell=shell,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as exc:
        return CommandResult(cmd, 127, time.monotonic() - started, f"cannot start: {exc}")
    try:
        out, _ = proc.communicate(timeout=timeout_s)
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        code = None
    text = (out or b"").decode("utf-8", "replace").strip()
    if len(text) > OUTPUT_LIMIT:
        text = "..." + text[-OUTPUT_LIMIT:]
    return CommandResult(cmd, code, time.monotonic() - started, text)


@dataclass(frozen=True)
class LocalAction:
    """What a process or command fault does now, and the revert it leaves pending."""

    fault: Fault
    pending: dict[str, Any]
    process: Any = None  # FoundProcess for kill/stop
    command: list[str] | str | None = None

    def apply(self, before_send: Callable[[], None]) -> str:
        """Do it; return a sentence for the journal. FaultActionError when it failed."""
        fault = self.fault
        if fault.type == COMMAND:
            assert self.command is not None
            result = run_command(
                self.command,
                shell=bool(fault.shell),
                timeout_s=fault.timeout_s or DEFAULT_TIMEOUT_S,
                before_start=before_send,
            )
            if not result.ok:
                raise FaultActionError(f"fault '{fault.name}': {result.describe('apply')}")
            return result.describe("apply")
        sig = signal.SIGSTOP if fault.type == STOP else signal_by_name(fault.signal, signal.SIGKILL)
        before_send()
        send_signal(self.process.pid, sig, fault=fault.name)
        return f"{sig.name} sent to {self.process.describe()}"


def prepare(fault: Fault, environ: Mapping[str, str] | None = None) -> LocalAction:
    """The action of a local fault, its process found now (FaultActionError if not)."""
    env = os.environ if environ is None else environ
    name = fault.name

    def expand(value: list[str] | str) -> list[str] | str:
        if isinstance(value, str):
            return expand_vars(value, env, fault=name)
        return [expand_vars(v, env, fault=name) for v in value]

    if fault.type == COMMAND:
        assert fault.apply is not None and fault.revert is not None
        pending = _command_pending("revert", expand(fault.revert), fault)
        return LocalAction(fault, pending, command=expand(fault.apply))
    assert fault.process is not None
    target = fault.process
    target = ProcessTarget(
        pid_file=expand(target.pid_file) if target.pid_file else None,  # type: ignore[arg-type]
        port=target.port,
        pattern=expand(target.pattern) if target.pattern else None,  # type: ignore[arg-type]
    )
    found = find_process(target, fault=name)
    if fault.type == STOP:
        pending = {"do": "sigcont", "pid": found.pid, "start_time": found.start_time}
    elif fault.type == KILL and fault.restart:
        pending = _command_pending("restart", expand(fault.restart), fault)
    else:
        pending = {"do": "nothing"}
    return LocalAction(fault, pending, process=found)


def _command_pending(what: str, cmd: list[str] | str, fault: Fault) -> dict[str, Any]:
    limit = (fault.restart_timeout_s if what == "restart" else fault.timeout_s) or DEFAULT_TIMEOUT_S
    return {
        "do": "command",
        "what": what,
        "cmd": cmd,
        "shell": bool(fault.shell),
        "timeout_s": limit,
        "cwd": os.getcwd(),
    }


def revert_pending(
    pending: Mapping[str, Any], *, fault: str, before_send: Callable[[], None] | None = None
) -> str:
    """Undo a local fault from its pending revert; a sentence for the journal.

    FaultActionError when the revert command fails (it stays pending)."""
    stamp = before_send or (lambda: None)
    do = pending.get("do")
    if do == "sigcont":
        pid = int(pending["pid"])
        if start_time(pid) is None or start_time(pid) != pending.get("start_time"):
            stamp()
            return f"pid {pid} is gone (or is another process now): nothing to thaw"
        stamp()
        try:
            os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            return f"pid {pid} exited: nothing to thaw"
        return f"SIGCONT sent to pid {pid}"
    if do == "command":
        what = str(pending.get("what", "revert"))
        result = run_command(
            pending["cmd"],
            shell=bool(pending.get("shell")),
            timeout_s=float(pending.get("timeout_s") or DEFAULT_TIMEOUT_S),
            cwd=pending.get("cwd") if Path(str(pending.get("cwd"))).is_dir() else None,
            before_start=stamp,
        )
        if not result.ok:
            raise FaultActionError(f"fault '{fault}': {result.describe(what)}")
        return result.describe(what)
    stamp()
    return "nothing to revert (no restart command)"


def run_pending_reverts(ledger_dir: Path, *, run_id: str | None = None) -> list[str]:
    """Run the pending reverts of dead runs on this host (or of ``run_id``, live or not), once.

    Returns one line per revert run (or failed: it stays pending for the next cleanup).
    """
    folder = local_ledger_dir(ledger_dir)
    if not folder.is_dir():
        return []
    lines: list[str] = []
    with _locked(folder):
        for ledger in read_ledgers(folder):
            if run_id is not None and ledger.run_id != run_id:
                continue
            if run_id is None and owner_alive(ledger):
                continue  # a live run (or another host's): its own reverts
            lines += _revert_ledger(ledger)
    return lines


def _revert_ledger(ledger: LedgerFile) -> list[str]:
    lines = []
    for entry in list(ledger.entries):
        try:
            detail = revert_pending(entry.action or {}, fault=entry.fault)
        except (FaultActionError, OSError, KeyError, TypeError, ValueError) as exc:
            lines.append(f"fault '{entry.fault}' of run '{ledger.run_id}': revert failed: {exc}")
            continue
        ledger.entries.remove(entry)
        save_ledger(ledger)
        lines.append(f"fault '{entry.fault}' ({entry.kind}) of run '{ledger.run_id}': {detail}")
    return lines


@contextlib.contextmanager
def _locked(folder: Path):  # noqa: ANN202
    """An exclusive lock on the local ledger folder, so two cleanups never revert one entry twice."""
    fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
