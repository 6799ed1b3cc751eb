"""The control API's listening socket."""

from __future__ import annotations

import socket

from toxiserver._server import bind_api_socket


def test_api_socket_is_tcp_so_asyncio_sets_nodelay() -> None:
    """bind_api_socket() makes an IPPROTO_TCP socket, so asyncio sets TCP_NODELAY on accepted ones."""
    sock = bind_api_socket("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
    finally:
        sock.close()
