"""Serve the app: ``python -m tests.systems.deskapp.serve --port 0 --db HOST:PORT --port-file F``.

Binds its socket itself (port 0 = any free port), writes the real port to
``--port-file`` and serves with uvicorn until SIGTERM/SIGINT. The launcher runs
it; run it by hand only against a Redis you started (``python -m
tests.systems.deskapp`` starts both).
"""

from __future__ import annotations

import argparse
import socket
import sys
from pathlib import Path

import uvicorn

from .app import create_app
from .config import AppSettings


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket (IPPROTO_TCP, so asyncio sets TCP_NODELAY: no delayed-ACK waits)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


def parse_settings(argv: list[str] | None) -> tuple[argparse.Namespace, AppSettings]:
    defaults = AppSettings()
    parser = argparse.ArgumentParser(prog="python -m tests.systems.deskapp.serve")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", type=Path, help="write the real port here once bound")
    parser.add_argument("--db", default=defaults.db_address, help="Redis HOST:PORT (a proxy)")
    parser.add_argument("--db-timeout-s", type=float, default=defaults.db_timeout_s)
    parser.add_argument("--db-connect-timeout-s", type=float, default=defaults.db_connect_timeout_s)
    parser.add_argument("--db-pool-size", type=int, default=defaults.db_pool_size)
    parser.add_argument("--secret", default=defaults.secret)
    args = parser.parse_args(argv)
    db_host, _, db_port = args.db.rpartition(":")
    if not db_host or not db_port.isdigit():
        parser.error(f"--db {args.db!r}: expected HOST:PORT, e.g. 127.0.0.1:6379")
    settings = AppSettings(
        db_host=db_host,
        db_port=int(db_port),
        db_timeout_s=args.db_timeout_s,
        db_connect_timeout_s=args.db_connect_timeout_s,
        db_pool_size=args.db_pool_size,
        secret=args.secret,
    )
    return args, settings


def main(argv: list[str] | None = None) -> int:
    args, settings = parse_settings(argv)
    try:
        sock = bind(args.host, args.port)
    except OSError as exc:
        print(f"deskapp: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 2
    if args.port_file is not None:
        tmp = args.port_file.with_suffix(".tmp")
        tmp.write_text(str(sock.getsockname()[1]))
        tmp.replace(args.port_file)
    config = uvicorn.Config(
        create_app(settings),
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=2,
        lifespan="on",
    )
    uvicorn.Server(config).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
