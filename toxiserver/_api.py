"""The Toxiproxy HTTP control API as a small ASGI app (served by uvicorn).

Routing, status codes, JSON shapes and error bodies follow Toxiproxy 2.x:
errors are `{"error": ..., "status": N}` served as text/plain, a known path
with the wrong method is 405 with an empty body, an unknown path is 404.

Bounds Toxiproxy lacks: a request body over `MAX_BODY_BYTES` is 413 (read no
further), names and addresses are bounded (`_schema.check_name`), and a bug in
a handler answers 500 with the same JSON error body instead of a bare page.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from . import _errors as err
from ._metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from ._metrics import make_renderer
from ._proxy import Proxy
from ._schema import (
    MAX_ADDRESS_CHARS,
    check_length,
    check_name,
    decode_fields,
    expect_object,
    parse_json,
)
from ._toxics import toxic_from_body, update_from_body

log = logging.getLogger(__name__)

VERSION = "2.12.0"
MAX_BODY_BYTES = 1024 * 1024  # Toxiproxy reads any size
SERVER_NAME = "toxiserver"
_PROXY_FIELDS = {
    "name": "str",
    "listen": "str",
    "upstream": "str",
    "enabled": "bool",
    "seed": "int",
}

# Go's name for populate's input type, as its decoder words a type mismatch
_POPULATE_GO_TYPE = '[]struct { toxiproxy.Proxy; Enabled *bool "json:\\"enabled\\"" }'

Handler = Callable[..., Awaitable[Response]]


def _json(data: Any, status: int = 200) -> Response:
    body = json.dumps(data, separators=(",", ":")).encode()
    return Response(body, status_code=status, media_type="application/json")


def _error(exc: err.ApiError) -> Response:
    return Response(
        exc.body(),
        status_code=exc.status,
        headers={"Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff"},
    )


class ControlApi:
    """Proxy collection plus the HTTP handlers; an ASGI application."""

    def __init__(
        self, seed: int | None = None, proxy_loop: asyncio.AbstractEventLoop | None = None
    ) -> None:
        self.seed = seed
        # The loop that owns the proxies: handlers run there, while HTTP parsing stays on
        # the API's own loop and thread (see _server.serve). None: the calling loop.
        self.proxy_loop = proxy_loop
        self.proxies: dict[str, Proxy] = {}
        self._lock = asyncio.Lock()
        self._render_metrics = make_renderer(lambda: list(self.proxies.values()))

    # ------------------------------------------------------------ ASGI

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        response = await self.dispatch(request)
        response.headers.setdefault("x-toxiserver", SERVER_NAME)
        await response(scope, receive, send)

    def _route(self, parts: list[str]) -> tuple[dict[str, Handler], list[str]] | None:
        n = len(parts)
        if parts == ["version"]:
            return {"GET": self.version}, []
        if parts == ["metrics"]:
            return {"GET": self.metrics}, []
        if parts == ["reset"]:
            return {"POST": self.reset}, []
        if parts == ["populate"]:
            return {"POST": self.populate}, []
        if parts == ["proxies"]:
            return {"GET": self.proxy_index, "POST": self.proxy_create}, []
        if n == 2 and parts[0] == "proxies":
            update = self.proxy_update
            methods = {"GET": self.proxy_show, "POST": update, "PATCH": update}
            methods["DELETE"] = self.proxy_delete
            return methods, parts[1:]
        if n == 3 and parts[0] == "proxies" and parts[2] == "toxics":
            return {"GET": self.toxic_index, "POST": self.toxic_create}, parts[1:2]
        if n == 4 and parts[0] == "proxies" and parts[2] == "toxics":
            update = self.toxic_update
            methods = {"GET": self.toxic_show, "POST": update, "PATCH": update}
            methods["DELETE"] = self.toxic_delete
            return methods, [parts[1], parts[3]]
        return None

    async def dispatch(self, request: Request) -> Response:
        if request.headers.get("user-agent", "").startswith("Mozilla/"):
            return Response("User agent not allowed\n", 403, media_type="text/plain")
        path = request.url.path
        parts = path.strip("/").split("/") if path.strip("/") else []
        route = self._route(parts) if path == "/" + "/".join(parts) else None
        if route is None:
            return Response("404 page not found\n", 404, media_type="text/plain")
        methods, args = route
        handler = methods.get(request.method)
        if handler is None:
            return Response(b"", 405)
        try:
            body = await _read_body(request)
            loop = self.proxy_loop
            if loop is None or loop is asyncio.get_running_loop():
                return await self._locked(handler, body, args)
            future = asyncio.run_coroutine_threadsafe(self._locked(handler, body, args), loop)
            return await asyncio.wrap_future(future)
        except err.ApiError as exc:
            return _error(exc)
        except Exception as exc:  # a bug: still the documented error shape, and logged
            log.exception("toxiserver: %s %s failed", request.method, path)
            return _error(err.ApiError(f"internal error: {type(exc).__name__}: {exc}", 500))

    # ------------------------------------------------------------ helpers

    async def _locked(self, handler: Handler, body: bytes, args: list[str]) -> Response:
        async with self._lock:
            return await handler(body, *args)

    def _proxy(self, name: str) -> Proxy:
        proxy = self.proxies.get(name)
        if proxy is None:
            raise err.PROXY_NOT_FOUND
        return proxy

    def _decode_proxy(self, body: Any, defaults: dict[str, Any]) -> dict[str, Any]:
        obj = expect_object(body, "proxy.Proxy")
        values = decode_fields(obj, _PROXY_FIELDS, "Proxy", defaults)
        if values["name"]:
            check_name("proxy name", values["name"])
        for field in ("listen", "upstream"):
            check_length(field, values[field], MAX_ADDRESS_CHARS)
        return values

    async def _add(self, values: dict[str, Any], enabled: bool) -> Proxy:
        if values["name"] in self.proxies:
            raise err.PROXY_EXISTS
        proxy = Proxy(values["name"], values["listen"], values["upstream"], self.seed)
        proxy.seed = values.get("seed")
        if enabled:
            await proxy.start()
        self.proxies[proxy.name] = proxy
        return proxy

    async def _remove(self, name: str) -> None:
        proxy = self._proxy(name)
        del self.proxies[name]
        await proxy.stop()

    async def stop_all(self) -> None:
        """Stop every proxy (server shutdown)."""
        for proxy in list(self.proxies.values()):
            await proxy.stop()

    # ------------------------------------------------------------ handlers

    async def version(self, body: bytes) -> Response:
        return _json({"version": VERSION})

    async def metrics(self, body: bytes) -> Response:
        return Response(
            self._render_metrics(), media_type=None, headers={"Content-Type": METRICS_CONTENT_TYPE}
        )

    async def reset(self, body: bytes) -> Response:
        for proxy in self.proxies.values():
            await proxy.start()
            proxy.reset_toxics()
        return Response(status_code=204)

    async def proxy_index(self, body: bytes) -> Response:
        return _json({name: self.proxies[name].to_json() for name in sorted(self.proxies)})

    async def proxy_create(self, body: bytes) -> Response:
        defaults = {"name": "", "listen": "", "upstream": "", "enabled": True, "seed": None}
        values = self._decode_proxy(parse_json(body), defaults)
        for required in ("name", "upstream"):
            if not values[required]:
                raise err.MISSING_FIELD.joined(required)
        proxy = await self._add(values, values["enabled"])
        return _json(proxy.to_json(), 201)

    async def populate(self, body: bytes) -> Response:
        """Toxiproxy answers every populate error as JSON (not text/plain) with a
        `proxies` field: null when the input was refused before any proxy was
        made, else the proxies made before the failing one."""
        try:
            wanted = self._decode_populate(body)
        except err.ApiError as exc:
            return _json({"error": exc.message, "status": exc.status, "proxies": None}, exc.status)
        result: list[Proxy] = []
        for values in wanted:
            existing = self.proxies.get(values["name"])
            if existing is not None and _same_address(existing, values):
                result.append(existing)
                continue
            if existing is not None:
                await self._remove(existing.name)
            try:
                result.append(await self._add(values, values["enabled"]))
            except err.ApiError as exc:
                data = {"error": exc.message, "status": exc.status}
                data["proxies"] = [p.to_json() for p in result] or None
                return _json(data, exc.status)
        return _json({"proxies": [p.to_json() for p in result] or None}, 201)

    def _decode_populate(self, body: bytes) -> list[dict[str, Any]]:
        items = parse_json(body)
        if items is None:  # Go decodes null into an empty slice
            return []
        if not isinstance(items, list):
            kind = {dict: "object", str: "string", bool: "bool"}.get(type(items), "number")
            raise err.BAD_REQUEST_BODY.joined(
                f"json: cannot unmarshal {kind} into Go value of type {_POPULATE_GO_TYPE}"
            )
        defaults = {"name": "", "listen": "", "upstream": "", "enabled": True, "seed": None}
        wanted = [self._decode_proxy(item, defaults) for item in items]
        for index, values in enumerate(wanted, start=1):
            for required in ("name", "upstream"):
                if not values[required]:
                    raise err.MISSING_FIELD.joined(f"{required} at proxy {index}")
        return wanted

    async def proxy_show(self, body: bytes, name: str) -> Response:
        return _json(self._proxy(name).to_json())

    async def proxy_update(self, body: bytes, name: str) -> Response:
        proxy = self._proxy(name)
        defaults = {
            "name": proxy.name,
            "listen": proxy.listen,
            "upstream": proxy.upstream,
            "enabled": proxy.enabled,
            "seed": proxy.seed,
        }
        values = self._decode_proxy(parse_json(body), defaults)
        proxy.seed = values["seed"]
        if values["listen"] != proxy.listen or values["upstream"] != proxy.upstream:
            was_enabled = proxy.enabled
            await proxy.stop()
            proxy.listen = values["listen"]
            proxy.upstream = values["upstream"]
            if was_enabled and values["enabled"]:
                await proxy.start()
        if values["enabled"] != proxy.enabled:
            if values["enabled"]:
                await proxy.start()
            else:
                await proxy.stop()
        return _json(proxy.to_json())

    async def proxy_delete(self, body: bytes, name: str) -> Response:
        await self._remove(name)
        return Response(status_code=204)

    async def toxic_index(self, body: bytes, name: str) -> Response:
        return _json([t.to_json() for t in self._proxy(name).toxic_list()])

    async def toxic_create(self, body: bytes, name: str) -> Response:
        proxy = self._proxy(name)
        toxic = toxic_from_body(body)
        proxy.add_toxic(toxic)
        return _json(toxic.to_json())

    async def toxic_show(self, body: bytes, name: str, toxic_name: str) -> Response:
        toxic = self._proxy(name).find_toxic(toxic_name)
        if toxic is None:
            raise err.TOXIC_NOT_FOUND
        return _json(toxic.to_json())

    async def toxic_update(self, body: bytes, name: str, toxic_name: str) -> Response:
        proxy = self._proxy(name)
        toxic = proxy.find_toxic(toxic_name)
        if toxic is None:
            raise err.TOXIC_NOT_FOUND
        toxicity, attributes = update_from_body(toxic, body)
        proxy.update_toxic(toxic, toxicity, attributes)
        return _json(toxic.to_json())

    async def toxic_delete(self, body: bytes, name: str, toxic_name: str) -> Response:
        self._proxy(name).remove_toxic(toxic_name)
        return Response(status_code=204)


async def _read_body(request: Request) -> bytes:
    """The request body, or 413 as soon as it is known to exceed ``MAX_BODY_BYTES``."""
    too_large = err.ApiError(f"request body too large: over {MAX_BODY_BYTES} bytes", 413)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _same_address(proxy: Proxy, values: dict[str, Any]) -> bool:
    return proxy.listen == values["listen"] and proxy.upstream == values["upstream"]
