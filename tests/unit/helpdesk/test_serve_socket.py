"""The listening socket of every helpdesk process."""

from __future__ import annotations

import socket

from helpdesk.serve import bind


def test_listening_socket_is_tcp_so_asyncio_sets_nodelay() -> None:
    """bind() makes an IPPROTO_TCP socket, so accepted connections get TCP_NODELAY (no 40 ms Nagle stalls)."""
    sock = bind("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
    finally:
        sock.close()
