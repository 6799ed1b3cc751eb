"""Start and stop a whole deskapp: a redis-server, its Toxiproxy proxy (optional), the app.

:func:`start_deskapp` starts Redis on a free port, creates the proxy
``deskapp_db`` (listen ``127.0.0.1:0``, upstream Redis) when a Toxiproxy URL is
given, then the app (``python -m tests.systems.deskapp.serve``, its own process
group, port 0) pointed at the proxy's listen address, and waits for ``/health``.
Whatever fails on the way, everything already started is stopped again.
:meth:`RunningDeskapp.stop` stops the app, deletes the proxy and stops Redis;
it is safe to call twice. Logs: ``<work_dir>/app.log``, ``<work_dir>/redis/redis.log``.
"""

from __future__ import annotations

import os
import secrets
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import httpx

from .config import PROXY_NAME, AppSettings
from .processes import ChildProcess, StartupError
from .redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[3]  # the repository: `tests` must be importable
READY_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class DeskappConfig:
    """What to start; ``toxiproxy_url`` None means the app talks to Redis directly."""

    work_dir: Path
    host: str = "127.0.0.1"
    port: int = 0  # 0 = any free port
    toxiproxy_url: str | None = None
    proxy_name: str = PROXY_NAME
    db_timeout_s: float = AppSettings.db_timeout_s
    db_connect_timeout_s: float = AppSettings.db_connect_timeout_s
    secret: str | None = None  # CSRF signing key; random per start when None


class RunningDeskapp:
    """A started deskapp; a context manager that stops everything on exit."""

    def __init__(self, config: DeskappConfig) -> None:
        self.config = config
        self.redis = RedisServer(config.work_dir / "redis", config.host)
        self.url = ""  # the app, e.g. http://127.0.0.1:PORT
        self.db_address = ""  # what the app connects to: the proxy's listen address, or Redis
        self.proxy_name: str | None = None  # set when the app goes through Toxiproxy
        self._app: ChildProcess | None = None
        self._http = httpx.Client(timeout=2.0, trust_env=False)

    @property
    def redis_address(self) -> str:
        """Redis itself (host:port), behind the proxy: for tests that read the data directly."""
        return self.redis.address

    @property
    def toxiproxy_url(self) -> str | None:
        return self.config.toxiproxy_url.rstrip("/") if self.config.toxiproxy_url else None

    @property
    def pids(self) -> dict[str, int]:
        found = {"redis": self.redis.pid, "app": self._app.pid if self._app else None}
        return {name: pid for name, pid in found.items() if pid is not None}

    def __enter__(self) -> RunningDeskapp:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _start(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        self.redis.start()
        self.db_address = self.redis.address
        if self.toxiproxy_url:
            self.db_address = self._create_proxy()
        self._start_app(deadline)

    def _create_proxy(self) -> str:
        """Create the proxy in front of Redis (replacing a leftover of that name); its listen address."""
        spec = {
            "name": self.config.proxy_name,
            "listen": f"{self.config.host}:0",
            "upstream": self.redis.address,
            "enabled": True,
        }
        try:
            response = self._http.post(f"{self.toxiproxy_url}/proxies", json=spec)
            if response.status_code == 409:  # left behind by a killed run
                self._http.delete(f"{self.toxiproxy_url}/proxies/{self.config.proxy_name}")
                response = self._http.post(f"{self.toxiproxy_url}/proxies", json=spec)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise StartupError(
                f"cannot create proxy {self.config.proxy_name!r} on Toxiproxy at "
                f"{self.toxiproxy_url}: {exc}"
            ) from exc
        self.proxy_name = self.config.proxy_name
        listen = str(response.json().get("listen", ""))
        if listen.rsplit(":", 1)[-1] in ("", "0"):
            raise StartupError(
                f"Toxiproxy at {self.toxiproxy_url} did not report a listen port for proxy "
                f"{self.proxy_name!r} (got {listen!r})"
            )
        return listen

    def _start_app(self, deadline: float) -> None:
        port_file = self.config.work_dir / "app.port"
        port_file.unlink(missing_ok=True)
        cmd = [
            sys.executable, "-m", "tests.systems.deskapp.serve",
            "--host", self.config.host, "--port", str(self.config.port),
            "--port-file", str(port_file), "--db", self.db_address,
            "--db-timeout-s", str(self.config.db_timeout_s),
            "--db-connect-timeout-s", str(self.config.db_connect_timeout_s),
            "--secret", self.config.secret or secrets.token_hex(16),
        ]  # fmt: skip
        path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
        env = {**os.environ, "PYTHONPATH": path, "PYTHONUNBUFFERED": "1"}
        self._app = ChildProcess("app", cmd, self.config.work_dir / "app.log", env)
        while time.monotonic() < deadline:
            if self._app.exited():
                raise StartupError(
                    f"deskapp exited during startup: {self._app.log_tail()} "
                    f"(log: {self._app.log_path})"
                )
            if port_file.exists() and self._healthy(int(port_file.read_text())):
                return
            time.sleep(0.05)
        raise StartupError(
            f"deskapp did not answer /health within {READY_TIMEOUT_S} s (log: {self._app.log_path})"
        )

    def _healthy(self, port: int) -> bool:
        url = f"http://{self.config.host}:{port}"
        try:
            if self._http.get(f"{url}/health").status_code != 200:
                return False
        except httpx.HTTPError:
            return False
        self.url = url
        return True

    def stop(self) -> None:
        """Stop the app, delete the proxy, stop Redis; safe to call twice."""
        try:
            if self._app is not None:
                self._app.stop()
            if self.proxy_name and self.toxiproxy_url:
                try:
                    self._http.delete(f"{self.toxiproxy_url}/proxies/{self.proxy_name}")
                except httpx.HTTPError:
                    pass  # Toxiproxy already gone: nothing to clean up there
                self.proxy_name = None
        finally:
            self.redis.stop()
            self._http.close()


def start_deskapp(config: DeskappConfig) -> RunningDeskapp:
    """Start Redis, the proxy (if ``config.toxiproxy_url``) and the app; stop them all on failure."""
    config.work_dir.mkdir(parents=True, exist_ok=True)
    system = RunningDeskapp(config)
    try:
        system._start()
    except BaseException:
        system.stop()
        raise
    return system
