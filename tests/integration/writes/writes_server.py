"""A small order API that takes the client's idempotency key as the order id; it loses answers on purpose.

Run as a process: ``python writes_server.py``; prints its port on the first line.

- ``POST /orders?mode=M`` with header ``Idempotency-Key: K``: the order's id is ``K``.
  ``ok``: stored, 201 ``{"id": K}``; ``slow``: stored, then the answer waits 2 s (past
  the client's timeout: the client sees a timeout although the order exists);
  ``after``: stored, then 500 (the client sees an error although the order exists);
  ``before``: 500 before anything is stored (nothing exists).
- ``GET /orders/{K}``: 200 ``{"id": K, "state": "stored"}`` or 404.
- ``GET /truth``: the server's ground truth: stored ids, and requests per mode.
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

STORED: dict[str, str] = {}
MODES: Counter[str] = Counter()


async def health(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


async def create(request: Request) -> JSONResponse:
    mode = request.query_params.get("mode", "ok")
    key = request.headers.get("idempotency-key", "")
    MODES[mode] += 1
    if mode == "before" or not key:
        return JSONResponse({"error": "database unavailable"}, status_code=500)
    STORED[key] = "stored"
    if mode == "after":
        return JSONResponse({"error": "commit acknowledged too late"}, status_code=500)
    if mode == "slow":
        await asyncio.sleep(2.0)
    return JSONResponse({"id": key}, status_code=201)


async def read(request: Request) -> JSONResponse:
    key = request.path_params["key"]
    if key not in STORED:
        return JSONResponse({"error": "no such order"}, status_code=404)
    return JSONResponse({"id": key, "state": STORED[key]})


async def truth(request: Request) -> JSONResponse:
    return JSONResponse({"stored": sorted(STORED), "modes": dict(MODES)})


app = Starlette(
    routes=[
        Route("/health", health),
        Route("/orders", create, methods=["POST"]),
        Route("/orders/{key}", read),
        Route("/truth", truth),
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
