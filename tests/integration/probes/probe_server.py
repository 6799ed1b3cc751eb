"""A tiny HTTP target for the probe tests, whose health answer the test flips mid-drill.

Run as a process: ``python probe_server.py``; prints its port on the first line.
GET /healthz (always ok), GET /fast (the load), GET /status (200 "ok" while up,
503 "down" after a flip), GET /metrics (``app_up{role="api"}`` 1 or 0),
GET /flip?state=down|up (the test's control).
"""

from __future__ import annotations

import socket
import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

STATE = {"up": True}


async def ok(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


async def status(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok", 200) if STATE["up"] else PlainTextResponse("down", 503)


async def metrics(request: Request) -> PlainTextResponse:
    up = 1 if STATE["up"] else 0
    return PlainTextResponse(f'# TYPE app_up gauge\napp_up{{role="api"}} {up}\n')


async def flip(request: Request) -> PlainTextResponse:
    STATE["up"] = request.query_params.get("state") == "up"
    return PlainTextResponse("flipped")


APP = Starlette(
    routes=[
        Route("/healthz", ok),
        Route("/fast", ok),
        Route("/status", status),
        Route("/metrics", metrics),
        Route("/flip", flip),
    ]
)


def main() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    config = uvicorn.Config(APP, log_level="warning", access_log=False, lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    sys.exit(main())
