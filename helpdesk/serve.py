"""Run one helpdesk process: ``python -m helpdesk.serve <role> --port N --state-dir DIR``.

The process binds its socket itself (port 0 = any free port), writes the real port to
``<state_dir>/run/<role>.port`` and serves until SIGTERM/SIGINT. The front reads the
rest of its configuration from the environment (see :mod:`helpdesk.config`).
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from pathlib import Path

import uvicorn
from starlette.applications import Starlette

from helpdesk.config import ROLES, FrontConfig
from helpdesk.errors import HelpdeskError


def build_app(role: str, state_dir: Path, agents: int) -> Starlette:
    """Return the Starlette app of ``role``."""
    if role == "front":
        from helpdesk import front

        return front.create_app(FrontConfig.from_env())
    from helpdesk import dependencies  # the other roles: the front's imports are not needed

    if role == "nlu":
        return dependencies.nlu_app()
    if role == "kb":
        return dependencies.kb_app()
    if role in ("orders_primary", "orders_replica"):
        return dependencies.orders_app(role.removeprefix("orders_"))
    if role == "tickets":
        return dependencies.tickets_app(state_dir)
    if role == "agents":
        handle_s = float(os.environ.get("HELPDESK_AGENT_HANDLE_S", "30"))
        return dependencies.agents_app(agents, handle_s)
    raise HelpdeskError(f"unknown role {role!r} (valid: {', '.join(ROLES)})")


def bind(host: str, port: int) -> socket.socket:
    """Bind a listening TCP socket; port 0 picks a free one."""
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose proto is TCP,
    # and accepted sockets inherit it; with proto 0 every keep-alive response whose headers
    # and body are written apart waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise HelpdeskError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def port_file(state_dir: Path, role: str) -> Path:
    """Where a process announces its real port."""
    return state_dir / "run" / f"{role}.port"


def pid_file(state_dir: Path, role: str) -> Path:
    """Where a process writes its pid (for process faults: ``kill``, ``stop``)."""
    return state_dir / "run" / f"{role}.pid"


def main(argv: list[str] | None = None) -> int:
    """Serve one role until stopped; return the exit code."""
    parser = argparse.ArgumentParser(prog="python -m helpdesk.serve")
    parser.add_argument("role", choices=ROLES)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--state-dir", type=Path, default=Path(".helpdesk"))
    parser.add_argument("--agents", type=int, default=2)
    args = parser.parse_args(argv)
    try:
        app = build_app(args.role, args.state_dir, args.agents)
        sock = bind(args.host, args.port)
    except HelpdeskError as exc:
        print(f"helpdesk {args.role}: {exc}", file=sys.stderr)
        return 2
    announce = port_file(args.state_dir, args.role)
    announce.parent.mkdir(parents=True, exist_ok=True)
    tmp = announce.with_suffix(".tmp")
    tmp.write_text(str(sock.getsockname()[1]))
    tmp.replace(announce)
    pid_tmp = pid_file(args.state_dir, args.role).with_suffix(".pidtmp")
    pid_tmp.write_text(str(os.getpid()))
    pid_tmp.replace(pid_file(args.state_dir, args.role))
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=2,
        lifespan="on",
    )
    uvicorn.Server(config).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
