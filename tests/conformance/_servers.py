"""Loopback TCP servers the conformance tests proxy to (each stops cleanly)."""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
import time
from collections.abc import Callable


class EchoServer:
    """A single-threaded, non-blocking echo server; closes a connection once it is drained."""

    def __init__(self) -> None:
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(1024)
        self._listener.setblocking(False)
        self.port = self._listener.getsockname()[1]
        self._sel = selectors.DefaultSelector()
        self._sel.register(self._listener, selectors.EVENT_READ, None)
        self._waker_r, self._waker_w = socket.socketpair()
        self._sel.register(self._waker_r, selectors.EVENT_READ, "wake")
        self._conns: dict[socket.socket, dict[str, object]] = {}
        self._running = True
        self._thread = threading.Thread(target=self._loop, name="echo", daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _loop(self) -> None:
        while self._running:
            for key, mask in self._sel.select(0.5):
                if key.data == "wake":
                    return
                if key.data is None:
                    self._accept()
                else:
                    self._service(key.fileobj, mask)  # type: ignore[arg-type]

    def _accept(self) -> None:
        try:
            conn, _ = self._listener.accept()
        except (BlockingIOError, OSError):
            return
        conn.setblocking(False)
        self._conns[conn] = {"out": bytearray(), "eof": False}
        self._sel.register(conn, selectors.EVENT_READ, "conn")

    def _drop(self, conn: socket.socket) -> None:
        self._sel.unregister(conn)
        self._conns.pop(conn, None)
        conn.close()

    def _service(self, conn: socket.socket, mask: int) -> None:
        state = self._conns[conn]
        out: bytearray = state["out"]  # type: ignore[assignment]
        try:
            if mask & selectors.EVENT_READ:
                data = conn.recv(262144)
                if data:
                    out += data
                else:
                    state["eof"] = True
            if out:
                sent = conn.send(out)
                del out[:sent]
        except BlockingIOError:
            pass
        except OSError:
            self._drop(conn)
            return
        if state["eof"] and not out:
            self._drop(conn)
            return
        events = selectors.EVENT_WRITE if out else 0
        if not state["eof"] and len(out) < 4 * 1024 * 1024:
            events |= selectors.EVENT_READ
        self._sel.modify(conn, events or selectors.EVENT_WRITE, "conn")

    def close(self) -> None:
        self._running = False
        with contextlib.suppress(OSError):
            self._waker_w.send(b"x")
        self._thread.join(5)
        for conn in list(self._conns):
            self._drop(conn)
        self._sel.close()
        self._listener.close()
        self._waker_r.close()
        self._waker_w.close()


class OneShotServer:
    """Accepts connections and runs `handler(conn)` on each in a thread, then closes it."""

    def __init__(self, handler: Callable[[socket.socket], None]) -> None:
        self._handler = handler
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._accept_thread = threading.Thread(target=self._accept, daemon=True)
        self._accept_thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            t = threading.Thread(target=self._run, args=(conn,), daemon=True)
            t.start()
            self._threads.append(t)

    def _run(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            self._handler(conn)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._accept_thread.join(5)
        for t in self._threads:
            t.join(5)


def send_then_close(payload: bytes) -> Callable[[socket.socket], None]:
    """Handler: send `payload`, then close."""

    def handler(conn: socket.socket) -> None:
        conn.sendall(payload)

    return handler


def connect(port: int, timeout_s: float = 5.0) -> socket.socket:
    """A client socket to 127.0.0.1:port with a timeout."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout_s)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def round_trip_s(sock: socket.socket, payload: bytes = b"ping") -> float:
    """Seconds to send `payload` and read the same number of bytes back."""
    start = time.perf_counter()
    sock.sendall(payload)
    got = recv_exactly(sock, len(payload))
    assert got == payload
    return time.perf_counter() - start


def recv_exactly(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError(f"EOF after {len(buf)} of {n} bytes")
        buf += chunk
    return bytes(buf)


def recv_all(sock: socket.socket) -> bytes:
    """Read until EOF."""
    buf = bytearray()
    while chunk := sock.recv(262144):
        buf += chunk
    return bytes(buf)
