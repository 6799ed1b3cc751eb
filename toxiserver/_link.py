"""One proxied TCP connection: two pumps, each passing chunks through its toxic chain.

Per direction (upstream = client->server, downstream = server->client) a reader
task reads chunks, stamps them with their arrival time and queues them; a writer
task takes them in order, re-reads the proxy's live toxic list for that
direction, and runs the chunk through the toxics enabled for this connection
before writing it. With no toxics and nothing queued the reader writes directly
(fast path). Closing the connection closes both sockets and cancels every task.

Any exception a pump raises (a socket error, or a bug in a toxic) closes the
whole connection, so ``Connection.closed`` always resolves and nothing leaks;
errors other than socket errors are logged with their traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._toxics import TOXIC_TYPES, Toxic

if TYPE_CHECKING:
    from ._proxy import Proxy

log = logging.getLogger(__name__)

CHUNK_BYTES = 64 * 1024
QUEUE_CHUNKS = 64
_EOF = None


def derive_rng(seed: int | None, *parts: object) -> random.Random:
    """A generator seeded from the server seed and `parts` (fresh entropy without a seed)."""
    if seed is None:
        return random.Random()
    return random.Random("|".join([str(seed), *map(str, parts)]))


class LinkContext:
    """What a toxic sees of one direction of one connection."""

    def __init__(self, conn: Connection, direction: str, rng: random.Random) -> None:
        self.conn = conn
        self.direction = direction
        self.rng = rng
        self._states: dict[int, Any] = {}

    def state(self, toxic: Toxic, factory: Callable[[], Any]) -> Any:
        """Per-connection state of `toxic` (kept across attribute updates)."""
        if toxic.uid not in self._states:
            self._states[toxic.uid] = factory()
        return self._states[toxic.uid]


class Direction:
    """One pump: source reader -> toxic chain -> destination writer."""

    def __init__(
        self,
        conn: Connection,
        name: str,
        src: asyncio.StreamReader,
        dst: asyncio.StreamWriter,
    ) -> None:
        self.conn = conn
        self.name = name
        self.src = src
        self.dst = dst
        self.ctx = LinkContext(
            conn, name, derive_rng(conn.seed, conn.proxy.name, conn.ordinal, name)
        )
        self.queue: asyncio.Queue[tuple[bytes, float] | None] = asyncio.Queue(QUEUE_CHUNKS)
        self.busy = False
        self.done = False

    def _chain(self) -> list[Toxic]:
        return [t for t in self.conn.proxy.toxics[self.name] if self.conn.is_enabled(t)]

    async def read_loop(self) -> None:
        loop = asyncio.get_running_loop()
        stats = self.conn.proxy.stats
        key = self.name
        try:
            while True:
                data = await self.src.read(CHUNK_BYTES)
                if not data:
                    break
                stats.received[key] += len(data)
                if not self.busy and self.queue.empty() and not self.conn.proxy.toxics[key]:
                    await self._write(data)
                else:
                    await self.queue.put((data, loop.time()))
        except (ConnectionError, OSError):
            self.conn.close()
            return
        except Exception:
            self._failed("reading")
            return
        await self.queue.put(_EOF)

    async def write_loop(self) -> None:
        try:
            while True:
                item = await self.queue.get()
                self.busy = True
                if item is _EOF:
                    await self._finish()
                    return
                data, arrived_at = item
                await self._run(self._chain(), 0, data, arrived_at)
                self.busy = False
                if self.conn.closing:
                    return
        except (ConnectionError, OSError):
            self.conn.close()
        except Exception:
            self._failed("writing")

    def _failed(self, doing: str) -> None:
        """A pump died of something other than a socket error: log it, close both ends."""
        log.exception(
            "proxy %s, connection %d, %s: error while %s; closing the connection",
            self.conn.proxy.name,
            self.conn.ordinal,
            self.name,
            doing,
        )
        self.conn.close()

    async def _run(self, chain: list[Toxic], index: int, data: bytes, arrived_at: float) -> None:
        if self.conn.closing:
            return
        if index == len(chain):
            await self._write(data)
            return
        toxic = chain[index]

        async def nxt(piece: bytes) -> None:
            await self._run(chain, index + 1, piece, arrived_at)

        await TOXIC_TYPES[toxic.type].apply(toxic, self.ctx, data, arrived_at, nxt)

    async def _write(self, data: bytes) -> None:
        if self.conn.closing:
            return
        self.dst.write(data)
        self.conn.proxy.stats.sent[self.name] += len(data)
        await self.dst.drain()

    async def _finish(self) -> None:
        """Source reached EOF: honour slow_close, then half-close the destination."""
        for toxic in self._chain():
            if toxic.type == "slow_close":
                await asyncio.sleep(toxic.attr("delay") / 1000)
        if self.conn.closing:
            return
        self.done = True
        if self.conn.both_done():
            self.conn.close()
            return
        try:
            if self.dst.can_write_eof():
                self.dst.write_eof()
            else:
                self.conn.close()
        except OSError:
            self.conn.close()


class Connection:
    """A client connection proxied to the upstream, with its toxicity decisions and timers."""

    def __init__(
        self,
        proxy: Proxy,
        ordinal: int,
        client: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    ) -> None:
        self.proxy = proxy
        self.ordinal = ordinal
        self.seed = proxy.effective_seed()
        self.client_writer = client[1]
        self.upstream_writer = upstream[1]
        self.closing = False
        self.closed = asyncio.get_running_loop().create_future()
        self._decisions: dict[int, tuple[float, bool]] = {}
        self._timers: dict[int, asyncio.TimerHandle] = {}
        self._reset_timer: asyncio.TimerHandle | None = None
        self.directions = {
            "upstream": Direction(self, "upstream", client[0], upstream[1]),
            "downstream": Direction(self, "downstream", upstream[0], client[1]),
        }
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        for d in self.directions.values():
            self._tasks.append(asyncio.ensure_future(d.read_loop()))
            self._tasks.append(asyncio.ensure_future(d.write_loop()))
        self.toxics_changed()

    def both_done(self) -> bool:
        return all(d.done for d in self.directions.values())

    def is_enabled(self, toxic: Toxic) -> bool:
        """Whether `toxic` applies to this connection, decided once per toxicity value."""
        cached = self._decisions.get(toxic.uid)
        if cached is not None and cached[0] == toxic.toxicity:
            return cached[1]
        if toxic.toxicity >= 1.0:
            enabled = True
        elif toxic.toxicity <= 0.0:
            enabled = False
        else:
            rng = derive_rng(self.seed, self.proxy.name, self.ordinal, toxic.name, "toxicity")
            enabled = rng.random() < toxic.toxicity
        self._decisions[toxic.uid] = (toxic.toxicity, enabled)
        return enabled

    def toxics_changed(self) -> None:
        """Arm timers for active timeout toxics; disarm those of removed toxics."""
        if self.closing:
            return
        loop = asyncio.get_running_loop()
        live: set[int] = set()
        for direction in self.directions:
            for toxic in self.proxy.toxics[direction]:
                if toxic.type != "timeout" or not self.is_enabled(toxic):
                    continue
                live.add(toxic.uid)
                timeout_ms = toxic.attr("timeout")
                if toxic.uid not in self._timers and timeout_ms > 0:
                    self._timers[toxic.uid] = loop.call_later(timeout_ms / 1000, self.close)
        for uid in list(self._timers):
            if uid not in live:
                self._timers.pop(uid).cancel()

    def schedule_reset(self, delay_s: float) -> None:
        """reset_peer saw data: reset both sockets (RST) after `delay_s`, once."""
        if self._reset_timer is None and not self.closing:
            loop = asyncio.get_running_loop()
            self._reset_timer = loop.call_later(delay_s, self.close, True)

    async def close_after_flush(self) -> None:
        """Close gracefully (FIN, not RST), without waiting.

        Nothing is awaited here: ``close()`` calls ``transport.close()``, which
        keeps the data already written to a socket and hands it to the kernel
        before the socket is closed. Chunks still queued in a pump are dropped.
        """
        self.close()

    def close(self, reset: bool = False) -> None:
        """Close both sockets (with RST if `reset`) and cancel every task; idempotent."""
        if self.closing:
            return
        self.closing = True
        current = asyncio.current_task()
        for task in self._tasks:
            if task is not current:
                task.cancel()
        for timer in self._timers.values():
            timer.cancel()
        if self._reset_timer is not None:
            self._reset_timer.cancel()
        for writer in (self.client_writer, self.upstream_writer):
            _close_writer(writer, reset)
        self.proxy.connection_closed(self)
        if not self.closed.done():
            self.closed.set_result(None)


def _close_writer(writer: asyncio.StreamWriter, reset: bool) -> None:
    transport = writer.transport
    if reset:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    else:
        transport.close()
