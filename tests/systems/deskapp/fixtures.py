"""pytest fixtures for deskapp: an embedded Toxiproxy, Redis, the proxy and the app, always stopped.

Use it from a conftest.py::

    from tests.systems.deskapp.fixtures import deskapp_env  # noqa: F401 (a fixture)

``deskapp_env`` is module scoped: one system per test module. Faults the tests set
with :meth:`DeskappEnv.db_latency` / :meth:`DeskappEnv.db_down` are removed when
the ``with`` block ends, also when the test fails.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from toxiserver import ServerProcess, start_subprocess

from .config import STAFF_PASSWORD, STAFF_USER
from .launcher import DeskappConfig, RunningDeskapp, start_deskapp
from .processes import StartupError
from .redis_server import redis_binary

HERE = Path(__file__).resolve().parent
DRILLS_DIR = HERE / "drills"
TEST_TOXIC = "deskapp-test-db"  # not harness-prefixed: a drill's cleanup leaves it alone


@dataclass
class DeskappEnv:
    """A running deskapp whose database is behind proxy ``proxy_name`` on ``toxiproxy_url``."""

    system: RunningDeskapp
    toxiproxy: ServerProcess

    @property
    def app_url(self) -> str:
        return self.system.url

    @property
    def toxiproxy_url(self) -> str:
        return self.toxiproxy.url

    @property
    def proxy_name(self) -> str:
        assert self.system.proxy_name is not None
        return self.system.proxy_name

    def client(self, *, staff: bool = False, timeout_s: float = 10.0) -> httpx.Client:
        """A client on the app (with the staff credentials if ``staff``); redirects not followed."""
        auth = (STAFF_USER, STAFF_PASSWORD) if staff else None
        return httpx.Client(base_url=self.app_url, auth=auth, timeout=timeout_s, trust_env=False)

    def _toxiproxy(self, method: str, path: str, json: object | None = None) -> httpx.Response:
        response = httpx.request(
            method, f"{self.toxiproxy_url}{path}", json=json, timeout=5, trust_env=False
        )
        response.raise_for_status()
        return response

    @contextmanager
    def db_latency(self, latency_ms: int) -> Iterator[None]:
        """Every answer from Redis to the app is delayed by ``latency_ms`` inside the block."""
        toxic = {
            "name": TEST_TOXIC,
            "type": "latency",
            "stream": "downstream",
            "toxicity": 1.0,
            "attributes": {"latency": latency_ms, "jitter": 0},
        }
        self._toxiproxy("POST", f"/proxies/{self.proxy_name}/toxics", toxic)
        try:
            yield
        finally:
            self._toxiproxy("DELETE", f"/proxies/{self.proxy_name}/toxics/{TEST_TOXIC}")

    @contextmanager
    def db_down(self) -> Iterator[None]:
        """The proxy is disabled inside the block (connections refused, open ones closed)."""
        self._toxiproxy("POST", f"/proxies/{self.proxy_name}", {"enabled": False})
        try:
            yield
        finally:
            self._toxiproxy("POST", f"/proxies/{self.proxy_name}", {"enabled": True})
            self.wait_db_reachable()

    def wait_db_reachable(self, timeout_s: float = 10.0) -> None:
        """Poll /health/deep until the app reaches its database again."""
        deadline = time.monotonic() + timeout_s
        with self.client(timeout_s=5) as http:
            while http.get("/health/deep").status_code != 200:
                if time.monotonic() > deadline:
                    raise AssertionError(f"deskapp did not reach Redis again within {timeout_s} s")
                time.sleep(0.05)


@contextmanager
def deskapp_environment(work_dir: Path) -> Iterator[DeskappEnv]:
    """A fresh embedded Toxiproxy and a deskapp behind it; both stopped on exit."""
    with start_subprocess(port=0, log_path=work_dir / "toxiserver.log") as toxiproxy:
        config = DeskappConfig(work_dir / "deskapp", toxiproxy_url=toxiproxy.url)
        with start_deskapp(config) as system:
            yield DeskappEnv(system, toxiproxy)


@pytest.fixture(scope="module")
def deskapp_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeskappEnv]:
    """One deskapp (Redis, proxy ``deskapp_db``, app) behind an embedded Toxiproxy per module.

    Skipped when redis-server is missing, a failure when ``HARNESS_REQUIRE_REDIS``
    is set (scripts/test sets it: it installed Redis).
    """
    try:
        redis_binary()
    except StartupError as exc:
        if os.environ.get("HARNESS_REQUIRE_REDIS"):
            pytest.fail(f"{exc} (scripts/test installs it)")
        pytest.skip(str(exc))
    with deskapp_environment(tmp_path_factory.mktemp("deskapp")) as env:
        yield env
