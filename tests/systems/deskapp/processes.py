"""Child processes in their own process group, always stopped: SIGTERM, grace, SIGKILL."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
from collections.abc import Mapping
from pathlib import Path

STOP_GRACE_S = 5.0


class StartupError(RuntimeError):
    """A part of the system did not start; the message says which, why, and where its log is."""


class ChildProcess:
    """One command in its own session (so its whole group can be signalled); output to a log."""

    def __init__(
        self, name: str, cmd: list[str], log_path: Path, env: Mapping[str, str] | None = None
    ) -> None:
        self.name = name
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log:
            self.popen = subprocess.Popen(
                cmd,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=dict(env) if env is not None else None,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def exited(self) -> bool:
        return self.popen.poll() is not None

    def log_tail(self, lines: int = 5) -> str:
        if not self.log_path.exists():
            return "no output"
        text = self.log_path.read_text(errors="replace").strip().splitlines()[-lines:]
        return " | ".join(text) or "no output"

    def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """SIGTERM to the group, SIGKILL after ``grace_s``, reap; safe to call twice."""
        if self.popen.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self.popen.wait(grace_s)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self.popen.wait()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)  # helpers left in the group, if any

    def _signal(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, sig)


def free_port(host: str = "127.0.0.1") -> int:
    """A port free right now (for servers that cannot bind port 0 themselves, like Redis)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
