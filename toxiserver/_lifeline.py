"""A toxiserver started for one process dies with it, and leaves a record anyone can check.

A server started by ``start_subprocess`` holds the faults of the process that
started it (its *owner*) in memory. If the owner is SIGKILLed, those faults must
not live on in an orphaned server. Three independent mechanisms see to that:

1. ``prctl(PR_SET_PDEATHSIG, SIGHUP)`` (Linux): the kernel signals the server when
   the *thread* that started it ends. A thread can end while its process lives, so
   the handler stops the server only if ``getppid()`` is no longer the owner.
2. A pipe: the owner keeps the write end (``--parent-fd`` is the read end). EOF on
   it means the owner's copy is closed: the owner is gone, however it died.
3. A state file (``--state-file``), written once the API serves: the server's pid
   and start time, its owner's, the host and URL. A stop asked for by the owner
   removes it; a server that stops because its owner is gone leaves it, so the
   owner's side learns that the server (and its faults) ended. :func:`stop_orphans`
   stops every recorded server whose owner is dead and drops the records of
   servers that ended (``harness cleanup`` and every drill's preflight call it),
   so even a server that missed both signals is found.

Process identity is pid plus the start time from ``/proc/<pid>/stat``, so a
reused pid is never mistaken for the server or its owner.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

PR_SET_PDEATHSIG = 1
PARENT_DEATH_SIGNAL = signal.SIGHUP
FORMAT = 1


def set_parent_death_signal(signum: int) -> bool:
    """Ask the kernel to send ``signum`` when our parent thread dies; False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (``/proc/<pid>/stat`` field 22)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None


def is_running(pid: int, started: str | None) -> bool:
    """True if ``pid`` runs (not a zombie) and, where known, started at ``started``."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except (OSError, IndexError):
        state = None
    if state == "Z":
        return False
    now = start_time(pid)
    return started is None or now is None or now == started


class Lifeline:
    """The server side: stop (call ``on_orphaned``) once the owner process is gone."""

    def __init__(
        self, owner_pid: int, pipe_fd: int | None, on_orphaned: Callable[[str], None]
    ) -> None:
        self.owner_pid = owner_pid
        self.pipe_fd = pipe_fd
        self._on_orphaned = on_orphaned
        self._fired = False

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Install the signal handler, then the death signal, then watch the pipe."""
        loop.add_signal_handler(PARENT_DEATH_SIGNAL, self.check)
        set_parent_death_signal(PARENT_DEATH_SIGNAL)
        if self.pipe_fd is not None:
            loop.add_reader(self.pipe_fd, self._on_pipe, loop)
        self.check()  # the owner may have died before the death signal was set

    def check(self) -> None:
        if os.getppid() != self.owner_pid:
            self._orphaned(f"its owner, pid {self.owner_pid}, is gone")

    def _on_pipe(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            data = os.read(self.pipe_fd, 64) if self.pipe_fd is not None else b""
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            loop.remove_reader(self.pipe_fd)
            self._orphaned(f"the pipe from its owner, pid {self.owner_pid}, closed")

    def _orphaned(self, why: str) -> None:
        if not self._fired:
            self._fired = True
            self._on_orphaned(why)


@dataclass(frozen=True)
class ServerRecord:
    """One running toxiserver as its state file describes it."""

    pid: int
    pid_start: str | None
    owner_pid: int
    owner_start: str | None
    host: str
    url: str
    started_at_unix_s: float
    path: Path | None = None

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data.pop("path")
        return {"format": FORMAT, "program": "toxiserver", **data}


def this_server(owner_pid: int, url: str) -> ServerRecord:
    """The record of the current process, serving ``url`` for ``owner_pid``."""
    return ServerRecord(
        pid=os.getpid(),
        pid_start=start_time(os.getpid()),
        owner_pid=owner_pid,
        owner_start=start_time(owner_pid),
        host=socket.gethostname(),
        url=url,
        started_at_unix_s=round(time.time(), 3),
    )


def write_record(path: Path, record: ServerRecord) -> None:
    """Write ``record`` to ``path`` atomically (folder created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(record.to_json(), fh, indent=2)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def read_records(folder: Path) -> list[ServerRecord]:
    """Every readable state file in ``folder`` (unreadable ones are skipped)."""
    out = []
    for path in sorted(Path(folder).glob("*.json")) if Path(folder).is_dir() else []:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            out.append(
                ServerRecord(
                    pid=int(doc["pid"]),
                    pid_start=doc.get("pid_start"),
                    owner_pid=int(doc["owner_pid"]),
                    owner_start=doc.get("owner_start"),
                    host=str(doc.get("host", "")),
                    url=str(doc.get("url", "")),
                    started_at_unix_s=float(doc.get("started_at_unix_s", 0.0)),
                    path=path,
                )
            )
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return out


@dataclass(frozen=True)
class Orphan:
    """A recorded server whose owner is dead: ``stopped`` if it was still running."""

    record: ServerRecord
    stopped: bool


def _is_toxiserver(pid: int) -> bool:
    try:
        return b"toxiserver" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc: the start time already matched (or is unknown)


def _terminate(pid: int, grace_s: float) -> None:
    for signum in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline:
            if not is_running(pid, None):
                return
            time.sleep(0.02)


def stop_orphans(folder: Path, *, grace_s: float = 5.0) -> list[Orphan]:
    """Stop every server recorded in ``folder`` whose owner is dead; drop records of dead servers.

    Records from another host are left alone (their processes cannot be seen from
    here). A server whose owner lives is never touched.
    """
    here = socket.gethostname()
    done: list[Orphan] = []
    for record in read_records(folder):
        if record.host and record.host != here:
            continue
        server_running = is_running(record.pid, record.pid_start) and _is_toxiserver(record.pid)
        if server_running and is_running(record.owner_pid, record.owner_start):
            continue
        if server_running:
            _terminate(record.pid, grace_s)
        if record.path is not None:
            with contextlib.suppress(OSError):
                record.path.unlink()
        done.append(Orphan(record, stopped=server_running))
    return done
