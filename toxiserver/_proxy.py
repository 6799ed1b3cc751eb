"""Proxies: one TCP listener each, their connections and their toxics."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from dataclasses import dataclass, field
from typing import Any

from . import _errors as err
from ._link import Connection
from ._toxics import STREAMS, Toxic

DEFAULT_LISTEN_HOST = "127.0.0.1"


@dataclass
class ProxyStats:
    """Byte and connection counters of one proxy (exported on /metrics)."""

    received: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STREAMS, 0))
    sent: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STREAMS, 0))
    connections_total: int = 0


def split_host_port(address: str) -> tuple[str, int]:
    """`host:port`, `[v6]:port` or `:port` -> (host, port); empty host means loopback.

    Errors read as Go's net package words them (`address 99999: invalid port`):
    a port outside 0-65535 is refused, never wrapped modulo 65536.
    """
    host, sep, port_text = address.rpartition(":")
    if not sep:
        raise ValueError(f"address {address}: missing port in address")
    host = host.strip("[]") or DEFAULT_LISTEN_HOST
    try:
        port = int(port_text) if port_text else 0
    except ValueError as exc:
        raise ValueError(f"address {port_text}: invalid port") from exc
    if not 0 <= port <= 65535:
        raise ValueError(f"address {port_text}: invalid port")
    return host, port


def join_host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class Proxy:
    """A named proxy: listen address, upstream, enabled flag, toxics and live connections."""

    def __init__(self, name: str, listen: str, upstream: str, server_seed: int | None) -> None:
        self.name = name
        self.listen = listen or join_host_port(DEFAULT_LISTEN_HOST, 0)
        self.upstream = upstream
        self.enabled = False
        self.seed: int | None = None  # extension: per-proxy seed overriding the server's
        self.server_seed = server_seed
        self.toxics: dict[str, list[Toxic]] = {s: [] for s in STREAMS}
        self.stats = ProxyStats()
        self.connections: set[Connection] = set()
        self._server: asyncio.Server | None = None
        self._ordinal = 0

    def effective_seed(self) -> int | None:
        return self.seed if self.seed is not None else self.server_seed

    # ------------------------------------------------------------ JSON

    def toxic_list(self) -> list[Toxic]:
        return [t for s in STREAMS for t in self.toxics[s]]

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "listen": self.listen,
            "upstream": self.upstream,
            "enabled": self.enabled,
            "toxics": [t.to_json() for t in self.toxic_list()],
        }
        if self.seed is not None:
            data["seed"] = self.seed
        return data

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Listen on `listen` (port 0 picks one, shown afterwards); 500 on bind errors."""
        if self.enabled:
            return
        try:
            host, port = split_host_port(self.listen)
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
            )
        except ValueError as exc:  # Go: net.Listen's resolve error names no address
            raise err.ApiError(f"listen tcp: {exc}", 500) from exc
        except OSError as exc:
            raise err.ApiError(f"listen tcp {self.listen}: {exc}", 500) from exc
        family, _, _, _, sockaddr = infos[0]
        # proto TCP: asyncio sets TCP_NODELAY only on such sockets (and accepted ones inherit it)
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(sockaddr)
            sock.listen(1024)
            sock.setblocking(False)
            loop = asyncio.get_running_loop()
            self._server = await loop.create_server(self._new_connection, sock=sock)
        except OSError as exc:
            sock.close()
            reason = (exc.strerror or str(exc)).lower()
            raise err.ApiError(f"listen tcp {self.listen}: bind: {reason}", 500) from exc
        bound = sock.getsockname()
        self.listen = join_host_port(bound[0], bound[1])
        self.enabled = True

    async def stop(self) -> None:
        """Stop listening and close every open connection (clients see EOF)."""
        self.enabled = False
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for conn in list(self.connections):
            conn.close()
        if server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 1.0)

    def _new_connection(self) -> asyncio.Protocol:
        """Protocol for an accepted client socket (a new `Connection`)."""
        self._ordinal += 1
        self.stats.connections_total += 1
        return Connection(self, self._ordinal).client_side

    def upstream_address(self) -> tuple[str, int]:
        return split_host_port(self.upstream)

    def connection_opened(self, conn: Connection) -> None:
        self.connections.add(conn)

    def connection_closed(self, conn: Connection) -> None:
        self.connections.discard(conn)

    # ------------------------------------------------------------ toxics

    def find_toxic(self, name: str) -> Toxic | None:
        return next((t for t in self.toxic_list() if t.name == name), None)

    def add_toxic(self, toxic: Toxic) -> None:
        if self.find_toxic(toxic.name) is not None:
            raise err.TOXIC_EXISTS
        self.toxics[toxic.stream].append(toxic)
        self._notify()

    def update_toxic(self, toxic: Toxic, toxicity: float, attributes: dict[str, int]) -> None:
        toxic.toxicity = toxicity
        toxic.attributes = attributes
        self._notify()

    def remove_toxic(self, name: str) -> None:
        toxic = self.find_toxic(name)
        if toxic is None:
            raise err.TOXIC_NOT_FOUND
        self.toxics[toxic.stream].remove(toxic)
        self._notify()

    def reset_toxics(self) -> None:
        for stream in STREAMS:
            self.toxics[stream].clear()
        self._notify()

    def _notify(self) -> None:
        for conn in list(self.connections):
            conn.toxics_changed()
