"""A throw-away redis-server on a free loopback port: no persistence, no config file.

The binary is ``$REDIS_SERVER`` or ``redis-server`` on PATH (``scripts/install-redis``
installs Debian's package). Redis cannot bind port 0, so a free port is picked
first; if another process takes it in between, the start is tried again on a new one.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
from pathlib import Path

from .processes import ChildProcess, StartupError, free_port

READY_TIMEOUT_S = 10.0
START_ATTEMPTS = 3


def redis_binary() -> str:
    """The redis-server to run, or a StartupError that says how to install it."""
    configured = os.environ.get("REDIS_SERVER")
    found = configured or shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(found).is_file():
        raise StartupError(
            f"redis-server not found ({'REDIS_SERVER=' + configured if configured else 'PATH'}); "
            "run scripts/install-redis (Debian package 'redis-server') or set REDIS_SERVER"
        )
    return found


def ping(host: str, port: int, timeout_s: float = 0.5) -> bool:
    """True when a Redis server answers PING at host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """A running redis-server; ``stop()`` stops it (its data is thrown away)."""

    def __init__(self, work_dir: Path, host: str = "127.0.0.1") -> None:
        self.host = host
        self.work_dir = work_dir
        self.port = 0
        self._proc: ChildProcess | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self) -> RedisServer:
        binary = redis_binary()
        self.work_dir.mkdir(parents=True, exist_ok=True)
        for attempt in range(1, START_ATTEMPTS + 1):
            self.port = free_port(self.host)
            cmd = [
                binary,
                "--bind", self.host, "--port", str(self.port),
                "--save", "", "--appendonly", "no", "--dir", str(self.work_dir),
                "--protected-mode", "no", "--daemonize", "no", "--loglevel", "warning",
            ]  # fmt: skip
            self._proc = ChildProcess("redis", cmd, self.work_dir / "redis.log")
            if self._wait_ready():
                return self
            why = self._proc.log_tail()
            self._proc.stop()
            if attempt == START_ATTEMPTS or "in use" not in why:
                raise StartupError(
                    f"redis-server on {self.address} did not answer PING within "
                    f"{READY_TIMEOUT_S} s: {why} (log: {self.work_dir / 'redis.log'})"
                )
        raise AssertionError("unreachable")

    def _wait_ready(self) -> bool:
        assert self._proc is not None
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._proc.exited():
                return False
            if ping(self.host, self.port):
                return True
            time.sleep(0.02)
        return False

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.stop()
