"""Run the proxies on one asyncio loop and the control API (uvicorn) on a thread of its own.

`serve()` is the async core used by the CLI; `ToxiproxyServer` runs it on a
background thread for in-process use.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import gc
import math
import selectors
import socket
import threading
import time
from collections.abc import Callable, Coroutine, Generator
from types import TracebackType
from typing import Any

import uvicorn

from ._api import ControlApi
from ._errors import ServerStartError

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


class PreciseSelector(selectors.DefaultSelector):  # type: ignore[misc,valid-type]
    """The default selector, minus its rounding of timeouts up to a whole millisecond.

    epoll_wait (and poll) take milliseconds, so the stock selector waits
    ceil(timeout) ms and every asyncio timer fires 0-1 ms late: a latency toxic's
    chunk, a slicer's or bandwidth's pause. Here the wait is the whole milliseconds
    below the timeout; a remainder under 1 ms, with no I/O ready, is slept with
    nanosleep (tens of microseconds of precision) before I/O is polled again.
    """

    def select(self, timeout: float | None = None) -> list[Any]:
        if timeout is None or timeout <= 0:
            return super().select(timeout)
        whole_ms = math.floor(timeout * 1000)
        if whole_ms > 0:
            return super().select(whole_ms / 1000 - 1e-7)  # ceil() gives back whole_ms
        ready = super().select(0)
        if ready:
            return ready
        time.sleep(timeout)
        return super().select(0)


def run_proxy_loop(main: Coroutine[Any, Any, Any]) -> Any:
    """`asyncio.run(main)` on a loop with `PreciseSelector` (the proxies' loop)."""
    with asyncio.Runner(loop_factory=lambda: asyncio.SelectorEventLoop(PreciseSelector())) as r:
        return r.run(main)


class _QuietServer(uvicorn.Server):
    """uvicorn without its own signal handling (the caller owns shutdown)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def bind_api_socket(host: str, port: int) -> socket.socket:
    """A listening socket for the API; raises OSError if the address is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # TCP_NODELAY, see _proxy
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


async def serve(
    host: str,
    port: int,
    seed: int | None,
    stop: asyncio.Event,
    on_ready: Callable[[int], None],
) -> None:
    """Serve the API on host:port until `stop` is set; call `on_ready(real_port)` once up.

    The proxies run on the calling loop; uvicorn runs on a thread and loop of its
    own (HTTP parsing, body reading, responses), and hands each request's handler
    to the proxies' loop. A scrape of /metrics or a burst of API calls thus does not
    sit between a proxied chunk and its write.
    """
    sock = bind_api_socket(host, port)
    api = ControlApi(seed=seed, proxy_loop=asyncio.get_running_loop())
    config = uvicorn.Config(
        api, log_level="warning", access_log=False, lifespan="off", ws="none", http="h11"
    )
    server = _QuietServer(config)
    failure: list[BaseException] = []

    def run_api() -> None:
        try:
            asyncio.run(server.serve(sockets=[sock]))
        except BaseException as exc:  # noqa: BLE001 - reported below
            failure.append(exc)

    thread = threading.Thread(target=run_api, name="toxiserver-api", daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                if failure:
                    raise failure[0]
                raise ServerStartError("uvicorn exited before starting")
            await asyncio.sleep(0.005)
        on_ready(sock.getsockname()[1])
        # What startup made (uvicorn, starlette, prometheus_client: ~35k objects) lives
        # as long as the server: out of the collector's sight, a full collection no
        # longer walks it (7.6 ms measured) in the middle of proxied traffic.
        gc.collect()
        gc.freeze()
        await stop.wait()
    finally:
        server.should_exit = True
        # keep this loop running meanwhile: requests in flight finish their handlers here
        await asyncio.to_thread(thread.join, 10)
        await api.stop_all()
        sock.close()


class ServerState(enum.Enum):
    NEW = "new"
    RUNNING = "running"
    STOPPED = "stopped"


class ToxiproxyServer:
    """An embedded Toxiproxy-compatible server running on a background thread.

    >>> with ToxiproxyServer(seed=7) as srv:
    ...     srv.url  # doctest: +SKIP
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, seed: int | None = None) -> None:
        self.host = host
        self.port = port
        self.seed = seed
        self.state = ServerState.NEW
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        if self.state is not ServerState.RUNNING:
            raise ServerStartError(
                f"toxiserver on {self.host}:{self.port} is {self.state.value}, "
                "not running - call start() first"
            )
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self, timeout_s: float = 10.0) -> ToxiproxyServer:
        """Start serving; returns once the API answers. Raises ServerStartError."""
        if self.state is not ServerState.NEW:
            raise ServerStartError(f"toxiserver is {self.state.value}; create a new instance")
        self._thread = threading.Thread(target=self._run, name="toxiserver", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout_s) or self._error is not None:
            self.stop()
            raise ServerStartError(
                f"toxiserver did not start on {self.host}:{self.port}: {self._error}"
            ) from self._error
        self.state = ServerState.RUNNING
        return self

    def _run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            await serve(self.host, self.port, self.seed, self._stop, self._on_ready)

        try:
            run_proxy_loop(main())
        except BaseException as exc:  # noqa: BLE001 - reported to start()
            self._error = exc
        finally:
            self._ready.set()

    def _on_ready(self, port: int) -> None:
        self.port = port
        self._ready.set()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the API and every proxy, closing all connections; idempotent."""
        if self.state is ServerState.STOPPED:
            return
        loop, stop, thread = self._loop, self._stop, self._thread
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stop.set)
        if thread is not None:
            thread.join(timeout_s)
        self.state = ServerState.STOPPED

    def __enter__(self) -> ToxiproxyServer:
        if self.state is ServerState.NEW:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
