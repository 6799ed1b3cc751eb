"""The fault ledger: what a run is about to change on Toxiproxy, on disk, before it changes it.

One JSON file per run, ``<ledger_dir>/<run_id>.json``, written atomically and
fsync'd (file and folder) *before* each change, so a run killed at any moment
leaves a record of what it may have changed::

    {"format": 1, "run_id": "r1", "pid": 4242, "pid_start": "98765", "host": "box",
     "server_url": "http://127.0.0.1:8474",
     "entries": [{"kind": "down", "proxy": "helpdesk_nlu", "fault": "nlu-outage",
                  "toxic": null, "was_enabled": true}, ...]}

``pid_start`` is the process start time from ``/proc`` (Linux), so a reused
pid is not mistaken for the owner. An entry is removed once its change is
reverted; the file is removed when no entry is left.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from harness.errors import InfrastructureError

__all__ = [
    "LedgerEntry",
    "LedgerFile",
    "RunLedger",
    "drop_dead_ledgers",
    "owner_alive",
    "read_ledgers",
    "save_ledger",
]

FORMAT = 1


@dataclass(frozen=True)
class LedgerEntry:
    """One change a run is making: a proxy taken down, a toxic added, or a local fault
    (``kill``/``stop``/``command``) whose pending revert is ``action``
    (see ``harness.faults.local``; ``proxy`` is empty for those)."""

    kind: Literal["down", "toxic", "kill", "stop", "command"]
    proxy: str
    fault: str
    toxic: str | None = None
    was_enabled: bool = True
    action: dict[str, Any] | None = None


@dataclass
class LedgerFile:
    """A run's ledger as read from disk."""

    path: Path
    run_id: str
    pid: int
    pid_start: str | None
    host: str
    server_url: str
    entries: list[LedgerEntry] = field(default_factory=list)


class RunLedger:
    """The ledger of the current process's run: add before a change, discard after revert."""

    def __init__(self, ledger_dir: Path, run_id: str, server_url: str) -> None:
        self.path = Path(ledger_dir) / f"{run_id}.json"
        self._run_id = run_id
        self._server_url = server_url
        self._entries: list[LedgerEntry] = []

    @property
    def entries(self) -> list[LedgerEntry]:
        """Entries currently recorded."""
        return list(self._entries)

    def add(self, entry: LedgerEntry) -> None:
        """Record ``entry`` durably (fsync'd) unless it is already there."""
        if entry not in self._entries:
            self._entries.append(entry)
            self._save()

    def discard(self, entry: LedgerEntry) -> None:
        """Forget ``entry``; delete the file when nothing is left."""
        if entry in self._entries:
            self._entries.remove(entry)
            self._save()

    def _save(self) -> None:
        try:
            if self._entries:
                _write_atomic(self.path, self._document())
            elif self.path.exists():
                self.path.unlink()
                _fsync_dir(self.path.parent)
        except OSError as exc:
            raise InfrastructureError(
                f"cannot write the fault ledger {self.path} ({exc.strerror or exc}) - "
                "make the ledger folder writable; nothing was changed on Toxiproxy"
            ) from exc

    def _document(self) -> dict[str, object]:
        return {
            "format": FORMAT,
            "run_id": self._run_id,
            "pid": os.getpid(),
            "pid_start": _start_time(os.getpid()),
            "host": socket.gethostname(),
            "server_url": self._server_url,
            "entries": [_entry_doc(e) for e in self._entries],
        }


def read_ledgers(ledger_dir: Path) -> list[LedgerFile]:
    """Every readable ledger in ``ledger_dir`` (unreadable ones are skipped and left alone)."""
    folder = Path(ledger_dir)
    if not folder.is_dir():
        return []
    out = []
    for path in sorted(folder.glob("*.json")):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            out.append(
                LedgerFile(
                    path=path,
                    run_id=str(doc["run_id"]),
                    pid=int(doc["pid"]),
                    pid_start=doc.get("pid_start"),
                    host=str(doc.get("host", "")),
                    server_url=str(doc.get("server_url", "")),
                    entries=[LedgerEntry(**e) for e in doc.get("entries", [])],
                )
            )
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return out


def drop_dead_ledgers(ledger_dir: Path, server_url: str) -> list[str]:
    """Delete the ledgers of dead runs against ``server_url``, a server that is gone for good.

    For an embedded Toxiproxy that was stopped: its faults went with it, and its
    port may serve another Toxiproxy later, whose proxies must not be re-enabled
    on the word of these ledgers. A ledger that records anything but Toxiproxy
    changes (``down``, ``toxic``) is kept: those changes did not go with the
    server. Returns the run ids whose ledgers were deleted.
    """
    dropped = []
    for ledger in read_ledgers(ledger_dir):
        toxiproxy_only = all(e.kind in ("down", "toxic") for e in ledger.entries)
        if ledger.server_url == server_url and toxiproxy_only and not owner_alive(ledger):
            ledger.path.unlink(missing_ok=True)
            dropped.append(ledger.run_id)
    return dropped


def _entry_doc(entry: LedgerEntry) -> dict[str, Any]:
    """An entry as JSON; ``action`` only for local faults (Toxiproxy entries as before)."""
    doc = asdict(entry)
    if doc["action"] is None:
        del doc["action"]
    return doc


def save_ledger(ledger: LedgerFile) -> None:
    """Write ``ledger`` back as it now is (its owner unchanged); delete it when it is empty."""
    if not ledger.entries:
        ledger.path.unlink(missing_ok=True)
        _fsync_dir(ledger.path.parent)
        return
    doc = {
        "format": FORMAT,
        "run_id": ledger.run_id,
        "pid": ledger.pid,
        "pid_start": ledger.pid_start,
        "host": ledger.host,
        "server_url": ledger.server_url,
        "entries": [_entry_doc(e) for e in ledger.entries],
    }
    _write_atomic(ledger.path, doc)


def owner_alive(ledger: LedgerFile) -> bool:
    """True if the process that wrote ``ledger`` may still be running.

    A ledger from another host is assumed alive (we cannot tell). On this host
    the pid must exist, not be a zombie and, where known, have the same start
    time as recorded (otherwise the pid was reused by another process).
    """
    if ledger.host and ledger.host != socket.gethostname():
        return True
    try:
        os.kill(ledger.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    if _state(ledger.pid) == "Z":
        return False
    started = _start_time(ledger.pid)
    return ledger.pid_start is None or started is None or started == ledger.pid_start


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[-1].split()


def _state(pid: int) -> str | None:
    fields = _stat_fields(pid)
    return fields[0] if fields else None


def _start_time(pid: int) -> str | None:
    fields = _stat_fields(pid)
    return fields[19] if fields and len(fields) > 19 else None


def _write_atomic(path: Path, doc: dict[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=2)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
