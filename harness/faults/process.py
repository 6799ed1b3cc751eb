"""Find a local process and signal it, refusing the ones a drill must never touch.

A ``kill``/``stop`` fault names its process one of three ways
(:class:`harness.faults.model.ProcessTarget`): a pid file, the TCP port it
listens on, or a regular expression that must match exactly one command line.
The process is found when the fault is applied, never earlier (a restarted
process has a new pid). Refused, whatever the fault says: pid 1, the harness
process itself and every one of its ancestors, and anything not running on
this machine (a pid is always local; a pid file naming a missing pid is an
error). psutil (which Locust installs) is used only here.

``start_time`` identifies a process beyond its pid: a ``stop`` fault records
it, and its revert sends SIGCONT only to the same process (a pid reused since
is left alone).
"""

from __future__ import annotations

import os
import re
import signal
from dataclasses import dataclass
from pathlib import Path

import psutil

from harness.errors import FaultActionError
from harness.faults.model import ProcessTarget

__all__ = ["FoundProcess", "find_process", "send_signal", "signal_by_name", "start_time", "state"]


@dataclass(frozen=True)
class FoundProcess:
    """A process a fault will act on: its pid, start time and command line."""

    pid: int
    start_time: str | None
    cmdline: str

    def describe(self) -> str:
        """``pid 123 (python -m helpdesk.serve tickets ...)``, the command line shortened."""
        line = self.cmdline if len(self.cmdline) <= 80 else self.cmdline[:77] + "..."
        return f"pid {self.pid} ({line})"


def signal_by_name(name: str | None, default: signal.Signals) -> signal.Signals:
    """``SIGKILL``/``KILL`` -> the signal (the model has checked the name)."""
    if name is None:
        return default
    return signal.Signals[name if name.startswith("SIG") else f"SIG{name}"]


def find_process(target: ProcessTarget, *, fault: str) -> FoundProcess:
    """The one local process ``target`` names; FaultActionError when none, several or a refused one."""
    if target.pid_file is not None:
        pid = _pid_from_file(Path(target.pid_file), fault)
    elif target.port is not None:
        pid = _pid_listening_on(target.port, fault)
    else:
        pid = _pid_matching(str(target.pattern), fault)
    _refuse_protected(pid, fault, target)
    try:
        proc = psutil.Process(pid)
        cmdline = " ".join(proc.cmdline()) or proc.name()
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        raise FaultActionError(
            f"fault '{fault}': {target.describe()} names pid {pid}, which is not running on "
            "this machine - start the process or fix 'process:'"
        ) from None
    except psutil.AccessDenied:
        cmdline = "?"
    return FoundProcess(pid, start_time(pid), cmdline)


def send_signal(pid: int, sig: signal.Signals, *, fault: str) -> None:
    """Send ``sig`` to ``pid``; FaultActionError naming the fault when it cannot be sent."""
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        raise FaultActionError(
            f"fault '{fault}': pid {pid} exited before {sig.name} could be sent"
        ) from None
    except PermissionError:
        raise FaultActionError(
            f"fault '{fault}': not allowed to send {sig.name} to pid {pid} (another user's "
            "process) - run the drill as that user"
        ) from None


def start_time(pid: int) -> str | None:
    """The process start time in clock ticks since boot (Linux /proc), or None."""
    fields = _stat_fields(pid)
    return fields[19] if fields and len(fields) > 19 else None


def state(pid: int) -> str | None:
    """The one-letter state in /proc/<pid>/stat (R, S, T, Z...), None when gone."""
    fields = _stat_fields(pid)
    return fields[0] if fields else None


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[-1].split()


def _pid_from_file(path: Path, fault: str) -> int:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise FaultActionError(
            f"fault '{fault}': cannot read pid file {path} ({exc.strerror or exc}) - is the "
            "process running? fix 'process: pid_file'"
        ) from None
    if not text.isdigit():
        raise FaultActionError(
            f"fault '{fault}': pid file {path} does not hold a pid, got {text[:40]!r} - "
            "point 'process: pid_file' at a file holding one number"
        )
    return int(text)


def _pid_listening_on(port: int, fault: str) -> int:
    try:
        conns = psutil.net_connections(kind="tcp")
    except psutil.AccessDenied:
        raise FaultActionError(
            f"fault '{fault}': not allowed to list listening sockets to find port {port} - "
            "use 'process: pid_file' or 'pattern'"
        ) from None
    pids = sorted(
        {
            c.pid
            for c in conns
            if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port and c.pid
        }
    )
    if len(pids) != 1:
        found = "no process of this user" if not pids else f"{len(pids)} processes ({pids})"
        raise FaultActionError(
            f"fault '{fault}': {found} listen(s) on TCP port {port} - start the process, or "
            "use 'process: pid_file' or 'pattern'"
        )
    return pids[0]


def _pid_matching(pattern: str, fault: str) -> int:
    regex = re.compile(pattern)
    protected = _protected()
    matches: list[tuple[int, str]] = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        line = " ".join(proc.info.get("cmdline") or [])
        if proc.info["pid"] not in protected and line and regex.search(line):
            matches.append((proc.info["pid"], line))
    if len(matches) != 1:
        listed = "; ".join(f"{pid}: {line[:80]}" for pid, line in matches[:5])
        found = "no process" if not matches else f"{len(matches)} processes ({listed})"
        raise FaultActionError(
            f"fault '{fault}': pattern {pattern!r} must match exactly one command line, matched "
            f"{found} - make the pattern more specific"
        )
    return matches[0][0]


def _protected() -> set[int]:
    """pid 1, this process and all its ancestors."""
    pids = {1, os.getpid()}
    try:
        parent = psutil.Process(os.getpid()).parent()
        while parent is not None and parent.pid not in pids:
            pids.add(parent.pid)
            parent = parent.parent()
    except psutil.Error:
        pids.add(os.getppid())
    return pids


def _refuse_protected(pid: int, fault: str, target: ProcessTarget) -> None:
    if pid in _protected() or pid <= 0:
        who = {1: "pid 1 (init)", os.getpid(): "the harness itself"}.get(
            pid, "a parent of the harness"
        )
        raise FaultActionError(
            f"fault '{fault}': {target.describe()} names pid {pid}, {who}, which a drill never "
            "signals - point 'process:' at the system under test"
        )
