"""Helpers for the fault integration tests: a loopback TCP echo upstream and a round trip."""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(65536):
            self.request.sendall(data)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False


@contextmanager
def echo_server() -> Iterator[str]:
    """A TCP echo server on loopback; yields its 'host:port', always shut down."""
    server = _Server(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="echo", daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def round_trip_s(listen: str, payload: bytes = b"ping", timeout_s: float = 5.0) -> float:
    """Seconds to send ``payload`` through ``listen`` and read it back."""
    host, _, port = listen.rpartition(":")
    start = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=timeout_s) as sock:
        sock.sendall(payload)
        got = b""
        while len(got) < len(payload):
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"{listen} closed after {len(got)} bytes")
            got += chunk
    return time.monotonic() - start
