"""A tiny HTTP target for the load tests: counts requests per path and X-Worker-Pid.

Run as a process: ``python load_server.py``; prints its port on the first line.
GET /healthz, GET /fast, GET /slow?ms=N[&tag=T] (sleeps N ms), GET /counts (JSON),
GET /healthz-under-load?ms=N (sleeps N ms while any /slow request is in flight; counted
as ``/healthz-under-load slow`` or ``... fast``).
A request is counted when it arrives, under its path and its ``tag`` (or X-Worker-Pid).
"""

from __future__ import annotations

import asyncio
import socket
import sys
from collections import Counter

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

COUNTS: Counter[str] = Counter()
IN_FLIGHT = {"slow": 0}


def _count(request: Request) -> None:
    tag = request.query_params.get("tag") or request.headers.get("x-worker-pid", "-")
    COUNTS[f"{request.url.path} {tag}"] += 1


async def healthz(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


async def fast(request: Request) -> PlainTextResponse:
    _count(request)
    return PlainTextResponse("ok")


async def slow(request: Request) -> PlainTextResponse:
    _count(request)
    IN_FLIGHT["slow"] += 1
    try:
        await asyncio.sleep(int(request.query_params.get("ms", "200")) / 1000)
    finally:
        IN_FLIGHT["slow"] -= 1
    return PlainTextResponse("ok")


async def healthz_under_load(request: Request) -> PlainTextResponse:
    """A health check that stays up but answers slowly while the service is busy."""
    busy = IN_FLIGHT["slow"] > 0
    COUNTS[f"/healthz-under-load {'slow' if busy else 'fast'}"] += 1
    if busy:
        await asyncio.sleep(int(request.query_params.get("ms", "1500")) / 1000)
    return PlainTextResponse("ok")


async def counts(request: Request) -> JSONResponse:
    return JSONResponse(dict(COUNTS))


app = Starlette(
    routes=[
        Route("/healthz", healthz),
        Route("/healthz-under-load", healthz_under_load),
        Route("/fast", fast),
        Route("/slow", slow),
        Route("/counts", counts),
    ]
)


def main() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    sys.exit(main())
