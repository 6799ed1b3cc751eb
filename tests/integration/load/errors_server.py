"""A small HTTP target that fails on purpose, for the error-kind tests; counts what it served.

Run as a process: ``python errors_server.py``; prints its port on the first line.
Every route but /healthz and /counts is counted (per path) when the request arrives:

- GET /ok: 200;
- GET /err500: 500 (a dead database, say);
- GET /slow?ms=N: sleeps N ms, then 200 (past the client's timeout: a timeout);
- GET /reject?id=N: 200 with ``{"ticket": "T-<N>", "accepted": false}`` (the scenario calls
  ``response.failure("ticket T-<N> rejected")``);
- GET /before-refused, GET /before-keyerror: 200; the scenario sends one just before a
  request to a closed port, or just before raising KeyError, so these counts are the
  server-side truth for errors the server itself cannot see.
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


async def healthz(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


async def ok(request: Request) -> PlainTextResponse:
    COUNTS[request.url.path] += 1
    return PlainTextResponse("ok")


async def err500(request: Request) -> PlainTextResponse:
    COUNTS[request.url.path] += 1
    return PlainTextResponse("database unavailable", status_code=500)


async def slow(request: Request) -> PlainTextResponse:
    COUNTS[request.url.path] += 1
    await asyncio.sleep(int(request.query_params.get("ms", "1000")) / 1000)
    return PlainTextResponse("late")


async def reject(request: Request) -> JSONResponse:
    COUNTS[request.url.path] += 1
    return JSONResponse({"ticket": f"T-{request.query_params.get('id', '0')}", "accepted": False})


async def counts(request: Request) -> JSONResponse:
    return JSONResponse(dict(COUNTS))


app = Starlette(
    routes=[
        Route("/healthz", healthz),
        Route("/ok", ok),
        Route("/before-refused", ok),
        Route("/before-keyerror", ok),
        Route("/err500", err500),
        Route("/slow", slow),
        Route("/reject", reject),
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
