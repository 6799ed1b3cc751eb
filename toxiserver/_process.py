"""Run toxiserver as a child process (`python -m toxiserver`) in its own process group.

By default the child dies with this process (see `toxiserver._lifeline`): it
gets our pid and the read end of a pipe whose write end only we hold.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import IO

from ._errors import ServerStartError


class ServerProcess:
    """A running toxiserver child process; `stop()` sends SIGTERM then SIGKILL."""

    def __init__(
        self,
        popen: subprocess.Popen[bytes],
        host: str,
        port: int,
        log: IO[bytes] | None,
        lifeline_fd: int | None = None,
    ) -> None:
        self._popen = popen
        self.host = host
        self.port = port
        self._log = log
        self._lifeline_fd = lifeline_fd  # write end of the pipe the child watches
        self._stopped = False

    @property
    def pid(self) -> int:
        return self._popen.pid

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def stop(self, grace_s: float = 5.0) -> int | None:
        """Terminate the process group (SIGTERM, then SIGKILL after `grace_s`); idempotent."""
        if self._stopped:
            return self._popen.returncode
        self._stopped = True
        try:
            if self._popen.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self._popen.pid, signal.SIGTERM)
                try:
                    self._popen.wait(grace_s)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(self._popen.pid, signal.SIGKILL)
                    self._popen.wait()
        finally:
            if self._log is not None:
                self._log.close()
            if self._lifeline_fd is not None:
                with contextlib.suppress(OSError):
                    os.close(self._lifeline_fd)
                self._lifeline_fd = None
        return self._popen.returncode

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/version", timeout=1) as resp:
            return resp.status == 200
    except OSError:
        return False


def start_subprocess(
    host: str = "127.0.0.1",
    port: int = 0,
    seed: int | None = None,
    log_path: str | os.PathLike[str] | None = None,
    ready_timeout_s: float = 10,
    die_with_parent: bool = True,
    state_file: str | os.PathLike[str] | None = None,
) -> ServerProcess:
    """Start `python -m toxiserver` and wait until it answers /version.

    ``die_with_parent``: the server stops when this process is gone, even after a
    SIGKILL. ``state_file``: the server records its pid, ours and its URL there
    while it serves, so `stop_orphans` can find it should it outlive us anyway.
    """
    with tempfile.TemporaryDirectory(prefix="toxiserver-") as tmp:
        ready = Path(tmp) / "ready"
        cmd = [
            sys.executable,
            "-m",
            "toxiserver",
            "--host",
            host,
            "--port",
            str(port),
            "--ready-file",
            str(ready),
        ]
        if seed is not None:
            cmd += ["--seed", str(seed)]
        if state_file is not None:
            cmd += ["--state-file", str(state_file)]
        read_fd, write_fd = os.pipe() if die_with_parent else (None, None)
        if read_fd is not None:
            cmd += ["--parent-pid", str(os.getpid()), "--parent-fd", str(read_fd)]
        log = open(log_path, "ab") if log_path is not None else None  # noqa: SIM115
        out = log if log is not None else subprocess.DEVNULL
        try:
            popen = subprocess.Popen(
                cmd,
                stdout=out,
                stderr=out,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                pass_fds=() if read_fd is None else (read_fd,),
            )
        except BaseException:
            for fd in (read_fd, write_fd):
                if fd is not None:
                    os.close(fd)
            if log is not None:
                log.close()
            raise
        if read_fd is not None:
            os.close(read_fd)  # only the child may hold it: EOF then means we are gone
        proc = ServerProcess(popen, host, port, log, write_fd)
        deadline = time.monotonic() + ready_timeout_s
        try:
            while time.monotonic() < deadline:
                if popen.poll() is not None:
                    raise ServerStartError(
                        f"toxiserver exited with {popen.returncode} before it was ready "
                        f"(command: {' '.join(cmd)}; log: {log_path or 'not kept'})"
                    )
                if ready.exists():
                    proc.port = int(ready.read_text().strip())
                    if _answers(proc.url):
                        return proc
                time.sleep(0.02)
            raise ServerStartError(
                f"toxiserver on {host}:{port} did not answer /version within "
                f"{ready_timeout_s} s (log: {log_path or 'not kept'})"
            )
        except BaseException:
            proc.stop()
            raise
