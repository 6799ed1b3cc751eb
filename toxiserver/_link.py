"""One proxied TCP connection: two directions, each passing chunks through its toxic chain.

Both sockets are asyncio protocols (`_Side`): a chunk read from one socket is fed
to the direction that writes to the other (upstream = client->server, downstream
= server->client). With no toxics in a direction and nothing queued, the chunk is
written straight to the other socket inside the read callback: no task, no queue,
no per-chunk allocation beyond the bytes (the fast path). Otherwise it is stamped
with its arrival time and queued for the direction's pump task, which runs it
through the chain of toxics enabled for this connection. The chain is built once
per toxic change (`Connection.toxics_changed`), not per chunk.

As in Toxiproxy, the first EOF (or read error) in one direction ends the whole
connection: the chain is flushed (slow_close waits here), the destination socket
is closed, the other direction then sees its source closed, flushes its own chain
and closes the other socket. Half-close is not forwarded.

Flow control: a direction pauses reading its source while its destination's write
buffer is above the high-water mark or its queue holds `QUEUE_CHUNKS` chunks.

Any exception a pump raises (a socket error, or a bug in a toxic) closes the
whole connection, so ``Connection.closed`` always resolves and nothing leaks;
errors other than socket errors are logged with their traceback.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import math
import random
import socket
import struct
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ._toxics import TOXIC_TYPES, Next, Toxic, apply_latency

if TYPE_CHECKING:
    from ._proxy import Proxy

log = logging.getLogger(__name__)

QUEUE_CHUNKS = 64
_EOF = None
_LINGER_0 = struct.pack("ii", 1, 0)


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


class _Stage:
    """One toxic of a built chain: calls its type's `apply` with the next stage."""

    __slots__ = ("apply", "toxic", "direction", "nxt")

    def __init__(self, toxic: Toxic, direction: Direction, nxt: Next) -> None:
        self.apply = TOXIC_TYPES[toxic.type].apply
        self.toxic = toxic
        self.direction = direction
        self.nxt = nxt

    def __call__(self, data: bytes, at: float) -> Awaitable[None]:
        d = self.direction
        if d.conn.closing:
            return _done()
        return self.apply(self.toxic, d.ctx, data, at, self.nxt)


async def _done() -> None:
    return None


class Direction:
    """One way of a connection: chunks fed by the source side, written to `dst`."""

    def __init__(self, conn: Connection, name: str) -> None:
        self.conn = conn
        self.name = name
        self.src: asyncio.Transport | None = None
        self.dst: asyncio.Transport | None = None
        self.ctx = LinkContext(
            conn, name, derive_rng(conn.seed, conn.proxy.name, conn.ordinal, name)
        )
        self.stats = conn.proxy.stats
        self.chain: tuple[Toxic, ...] = ()
        self.head: Next | None = None
        self.queue: collections.deque[tuple[bytes, float] | None] = collections.deque()
        self.busy = False  # the pump is running a chunk
        self.ended = False  # source ended (EOF queued or handled)
        self.done = False  # destination closed after the source ended
        self.dst_paused = False
        self._reading_paused = False
        self._wakeup: asyncio.Future[None] | None = None
        self._writable: asyncio.Future[None] | None = None
        self._drained: asyncio.Future[None] | None = None
        self.task: asyncio.Task[None] | None = None
        self.latency_only = False  # every toxic of the chain is latency: timers, no pump
        self.timed = 0  # chunks waiting on a timer (latency-only chain)
        self.last_release = 0.0

    # ------------------------------------------------------------ chain

    def rebuild(self) -> None:
        """Build the chain of toxics enabled for this connection (on every toxic change)."""
        chain = tuple(t for t in self.conn.proxy.toxics[self.name] if self.conn.is_enabled(t))
        self.chain = chain
        head: Next = self._write_async
        for toxic in reversed(chain):
            head = _Stage(toxic, self, head)
        self.head = head if chain else None
        self.latency_only = bool(chain) and all(
            TOXIC_TYPES[t.type].apply is apply_latency for t in chain
        )
        if (chain and not self.latency_only) or self.queue:
            self._ensure_pump()

    # ------------------------------------------------------------ input (from the source side)

    def feed(self, data: bytes) -> None:
        if self.conn.closing:
            return
        self.stats.received[self.name] += len(data)
        if not self.busy and not self.queue:
            if self.head is None and not self.timed:
                dst = self.dst
                if dst is not None and not dst.is_closing():
                    dst.write(data)
                    self.stats.sent[self.name] += len(data)
                return
            if self.latency_only:
                self._delay(data)
                return
        self.queue.append((data, self.conn.loop.time()))
        if len(self.queue) >= QUEUE_CHUNKS:
            self._update_reading()
        self._ensure_pump()

    def _delay(self, data: bytes) -> None:
        """A latency-only chain: one timer per chunk writes it when due (no task, no queue).

        Same figures as the pump running the latency toxics: delays add up from the
        arrival (jitter drawn per toxic in chain order from the same generator), and
        a chunk never overtakes the one before it.
        """
        loop = self.conn.loop
        release = loop.time()
        rng = self.ctx.rng
        for toxic in self.chain:
            delay_ms = toxic.attr("latency")
            jitter_ms = toxic.attr("jitter")
            if jitter_ms > 0:
                delay_ms += rng.randrange(2 * jitter_ms) - jitter_ms
            release += delay_ms / 1000
        if release <= self.last_release:  # strictly later: timers due at once may swap
            release = math.nextafter(self.last_release, math.inf)
        self.last_release = release
        self.timed += 1
        loop.call_at(release, self._release, data)  # after a close, it finds `closing` set
        if self.timed >= QUEUE_CHUNKS:
            self._update_reading()

    def _release(self, data: bytes) -> None:
        self.timed -= 1
        if self.conn.closing:
            return
        dst = self.dst
        if dst is not None and not dst.is_closing():
            dst.write(data)
            self.stats.sent[self.name] += len(data)
        if self._reading_paused and self.timed < QUEUE_CHUNKS // 2:
            self._update_reading()
        if not self.timed and self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

    def feed_eof(self) -> None:
        if self.ended or self.conn.closing:
            return
        if self.dst is None:  # the client left before the upstream answered
            self.conn.close()
            return
        self.ended = True
        if self.head is None and not self.busy and not self.queue and not self.timed:
            self._close_dst()
            return
        self.queue.append(_EOF)
        self._ensure_pump()

    # ------------------------------------------------------------ flow control

    def set_dst_paused(self, paused: bool) -> None:
        self.dst_paused = paused
        if not paused and self._writable is not None and not self._writable.done():
            self._writable.set_result(None)
        self._update_reading()

    def _update_reading(self) -> None:
        want_pause = (
            self.dst_paused or len(self.queue) >= QUEUE_CHUNKS or self.timed >= QUEUE_CHUNKS
        )
        src = self.src
        if src is None or src.is_closing() or want_pause == self._reading_paused:
            return
        self._reading_paused = want_pause
        if want_pause:
            src.pause_reading()
        else:
            src.resume_reading()

    # ------------------------------------------------------------ the pump (toxics)

    def _ensure_pump(self) -> None:
        if self.task is None:
            self.task = self.conn.loop.create_task(self._pump())
            self.conn.tasks.append(self.task)
        elif self._wakeup is not None and not self._wakeup.done():
            self._wakeup.set_result(None)

    async def _pump(self) -> None:
        loop = self.conn.loop
        try:
            while not self.conn.closing:
                if not self.queue:
                    self._wakeup = loop.create_future()
                    await self._wakeup
                    self._wakeup = None
                    continue
                item = self.queue.popleft()
                if self._reading_paused and len(self.queue) < QUEUE_CHUNKS // 2:
                    self._update_reading()
                self.busy = True
                while self.timed:  # chunks on timers go first
                    self._drained = loop.create_future()
                    await self._drained
                    self._drained = None
                if item is _EOF:
                    await self._finish()
                    return
                data, arrived_at = item
                head = self.head
                if head is None:
                    await self._write_async(data, arrived_at)
                else:
                    await head(data, arrived_at)
                self.busy = False
        except (ConnectionError, OSError):
            self.conn.close()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception(
                "proxy %s, connection %d, %s: error in the toxic chain; closing the connection",
                self.conn.proxy.name,
                self.conn.ordinal,
                self.name,
            )
            self.conn.close()

    async def _write_async(self, data: bytes, at: float = 0.0) -> None:
        if self.conn.closing:
            return
        dst = self.dst
        if dst is None or dst.is_closing():
            return
        dst.write(data)
        self.stats.sent[self.name] += len(data)
        if self.dst_paused:
            self._writable = self.conn.loop.create_future()
            await self._writable
            self._writable = None

    async def _finish(self) -> None:
        """Source ended: honour slow_close, then close the destination (as Toxiproxy)."""
        for toxic in self.chain:
            if toxic.type == "slow_close":
                await asyncio.sleep(toxic.attr("delay") / 1000)
        self._close_dst()

    def _close_dst(self) -> None:
        if self.conn.closing:
            return
        self.done = True
        if self.conn.both_done():
            self.conn.close()
            return
        dst = self.dst
        if dst is not None:
            _close_transport(dst, self.conn.linger0)


class _Side(asyncio.Protocol):
    """One socket of a connection: feeds what it reads to `inbound`, writes `outbound`."""

    def __init__(
        self,
        inbound: Direction,
        outbound: Direction,
        on_made: Callable[[asyncio.Transport], None],
    ) -> None:
        self.inbound = inbound  # reads from this socket
        self.outbound = outbound  # writes to this socket
        self.on_made = on_made

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.on_made(transport)  # type: ignore[arg-type]

    def data_received(self, data: bytes) -> None:
        self.inbound.feed(data)

    def eof_received(self) -> bool:
        self.inbound.feed_eof()
        return True  # keep the transport: the other direction may still write

    def connection_lost(self, exc: Exception | None) -> None:
        self.outbound.set_dst_paused(False)
        self.inbound.feed_eof()

    def pause_writing(self) -> None:
        self.outbound.set_dst_paused(True)

    def resume_writing(self) -> None:
        self.outbound.set_dst_paused(False)


class Connection:
    """A client connection proxied to the upstream, with its toxicity decisions and timers."""

    def __init__(self, proxy: Proxy, ordinal: int) -> None:
        self.proxy = proxy
        self.ordinal = ordinal
        self.seed = proxy.effective_seed()
        self.loop = asyncio.get_running_loop()
        self.closing = False
        self.closed = self.loop.create_future()
        self.tasks: list[asyncio.Task[None]] = []
        self._decisions: dict[int, tuple[float, bool]] = {}
        self._timers: dict[int, tuple[asyncio.TimerHandle | None, int]] = {}
        self._timeout_uids: set[int] = set()
        self._reset_timer: asyncio.TimerHandle | None = None
        self.linger0 = False
        self.client_transport: asyncio.Transport | None = None
        self.upstream_transport: asyncio.Transport | None = None
        self.directions = {
            "upstream": Direction(self, "upstream"),
            "downstream": Direction(self, "downstream"),
        }
        up, down = self.directions["upstream"], self.directions["downstream"]
        self.client_side = _Side(inbound=up, outbound=down, on_made=self._accepted)
        self.upstream_side = _Side(inbound=down, outbound=up, on_made=self._upstream_made)

    def _accepted(self, client: asyncio.Transport) -> None:
        """The client connected: hold its data (reading paused) until the upstream answers."""
        self.client_transport = client
        client.pause_reading()
        self.proxy.connection_opened(self)
        self.tasks.append(self.loop.create_task(self._connect()))

    async def _connect(self) -> None:
        try:
            host, port = self.proxy.upstream_address()
            await self.loop.create_connection(lambda: self.upstream_side, host, port)
        except (OSError, ValueError):
            self.close()  # upstream unreachable: Toxiproxy closes the client connection
            return
        if not self.closing and self.client_transport is not None:
            self.client_transport.resume_reading()

    def _upstream_made(self, upstream: asyncio.Transport) -> None:
        if self.closing or self.client_transport is None:
            upstream.close()
            return
        self._start(self.client_transport, upstream)

    def _start(self, client: asyncio.Transport, upstream: asyncio.Transport) -> None:
        """Both sockets are connected: wire them and build the chains."""
        self.client_transport, self.upstream_transport = client, upstream
        up, down = self.directions["upstream"], self.directions["downstream"]
        up.src, up.dst = client, upstream
        down.src, down.dst = upstream, client
        # Toxiproxy sets SO_LINGER 0 on both sockets when a connection starts with a
        # reset_peer toxic on the proxy; a reset_peer added later closes with FIN.
        if any(t.type == "reset_peer" for s in self.directions for t in self.proxy.toxics[s]):
            self.linger0 = True
            for transport in (client, upstream):
                sock = transport.get_extra_info("socket")
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_0)
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
        """Rebuild both chains; arm, re-arm or disarm timeout toxics' timers.

        As in Toxiproxy, removing a timeout toxic (or `/reset`) closes the
        connections it was attached to, whatever their toxicity decision.
        """
        if self.closing:
            return
        live: set[int] = set()
        for direction in self.directions:
            for toxic in self.proxy.toxics[direction]:
                if toxic.type != "timeout":
                    continue
                live.add(toxic.uid)
                self._timeout_uids.add(toxic.uid)
                timeout_ms = toxic.attr("timeout") if self.is_enabled(toxic) else 0
                armed = self._timers.get(toxic.uid)
                if armed is None or armed[1] != timeout_ms:  # new or updated: (re)start it
                    self._arm(toxic.uid, timeout_ms)
        if self._timeout_uids - live:
            self.close(self.linger0)
            return
        for d in self.directions.values():
            d.rebuild()

    def _arm(self, uid: int, timeout_ms: int) -> None:
        old = self._timers.get(uid)
        if old is not None and old[0] is not None:
            old[0].cancel()
        handle = None
        if timeout_ms > 0:
            handle = self.loop.call_later(timeout_ms / 1000, self.close, self.linger0)
        self._timers[uid] = (handle, timeout_ms)

    def rearm_timeout(self, toxic: Toxic) -> None:
        """A timeout toxic dropped a chunk: its timer starts again (an idle timeout, as Go's)."""
        if not self.closing:
            self._arm(toxic.uid, toxic.attr("timeout"))

    def schedule_reset(self, delay_s: float) -> None:
        """reset_peer saw data: close both sockets after `delay_s`, once (RST if linger 0)."""
        if self._reset_timer is None and not self.closing:
            self._reset_timer = self.loop.call_later(delay_s, self.close, self.linger0)

    async def close_after_flush(self) -> None:
        """Close gracefully (FIN, not RST), without waiting.

        Nothing is awaited here: ``close()`` calls ``transport.close()``, which
        keeps the data already written to a socket and hands it to the kernel
        before the socket is closed. Chunks still queued in a pump are dropped.
        """
        self.close(self.linger0)

    def close(self, reset: bool = False) -> None:
        """Close both sockets (with RST if `reset`) and cancel every task; idempotent."""
        if self.closing:
            return
        self.closing = True
        current = asyncio.current_task()
        for task in self.tasks:
            if task is not current:
                task.cancel()
        for timer, _ in self._timers.values():
            if timer is not None:
                timer.cancel()
        if self._reset_timer is not None:
            self._reset_timer.cancel()
        for transport in (self.client_transport, self.upstream_transport):
            if transport is not None:
                _close_transport(transport, reset)
        self.proxy.connection_closed(self)
        if not self.closed.done():
            self.closed.set_result(None)


def _close_transport(transport: asyncio.Transport, reset: bool) -> None:
    if reset:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_0)
        transport.abort()
    else:
        transport.close()
