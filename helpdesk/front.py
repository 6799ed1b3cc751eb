"""The front API (Starlette): request validation, markers, shedding, metrics.

Every response carries ``X-Helpdesk-Mode: normal|fallback|degraded``; JSON responses
also carry the same value in the ``mode`` field. Shed responses are 429 with
``Retry-After``. Bad input answers a 4xx ``{"error": "<sentence>"}``, never a 500.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Literal

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from helpdesk import data
from helpdesk.config import FrontConfig, Mechanism
from helpdesk.events import EventLog
from helpdesk.metrics import FrontMetrics
from helpdesk.service import Helpdesk, Mode, Result, Unavailable, UnknownItem

MODE_HEADER = "X-Helpdesk-Mode"
SHED_PATHS = frozenset({"/api/recommendations"})


# ---- request bodies ------------------------------------------------------------------
class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


Id = Field(min_length=1, max_length=200)


class ChatRequest(_Body):
    customer_id: StrictStr = Id
    channel: Literal["web", "app", "social"]
    message: StrictStr = Field(min_length=1, max_length=8000)
    conversation_id: StrictStr | None = Field(default=None, min_length=1, max_length=200)


class TicketRequest(_Body):
    customer_id: StrictStr = Id
    kind: Literal["return", "refund", "complaint"]
    order_id: StrictStr | None = Field(default=None, max_length=200)
    text: StrictStr = Field(min_length=1, max_length=20000)


class HandoffRequest(_Body):
    customer_id: StrictStr = Id
    conversation_id: StrictStr | None = Field(default=None, max_length=200)
    priority: Literal["normal", "high"] = "normal"


class BadInput(Exception):
    """The request cannot be used; ``status`` is the 4xx to answer."""

    def __init__(self, status: int, sentence: str) -> None:
        self.status = status
        super().__init__(sentence)


def _validation_sentence(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "body"
    return f"Field '{where}': {first['msg']}."


# ---- responses -----------------------------------------------------------------------
def reply(payload: dict[str, Any], mode: Mode = Mode.NORMAL, status: int = 200) -> JSONResponse:
    """A JSON response with the mode marker in the body and the header."""
    return JSONResponse(
        {**payload, "mode": mode.label}, status_code=status, headers={MODE_HEADER: mode.label}
    )


def error(status: int, sentence: str, mode: Mode = Mode.NORMAL, **headers: str) -> JSONResponse:
    """A JSON error ``{"error": sentence, "mode": ...}``."""
    return JSONResponse(
        {"error": sentence, "mode": mode.label},
        status_code=status,
        headers={MODE_HEADER: mode.label, **headers},
    )


# ---- overload signal and the outer middleware ----------------------------------------
class OverloadMonitor:
    """Overloaded = in-flight requests >= ``max_inflight`` or arrivals in the last second
    > ``max_rps``. Runs on the event loop thread only, so it needs no lock."""

    def __init__(self, max_inflight: int, max_rps: float, clock: Callable[[], float]) -> None:
        self.max_inflight = max_inflight
        self.max_rps = max_rps
        self.inflight = 0
        self._arrivals: deque[float] = deque()
        self._clock = clock

    def arrive(self) -> bool:
        """Count one arriving request; return True if the front is overloaded."""
        now = self._clock()
        self._arrivals.append(now)
        while self._arrivals and self._arrivals[0] <= now - 1.0:
            self._arrivals.popleft()
        overloaded = self.inflight >= self.max_inflight or len(self._arrivals) > self.max_rps
        self.inflight += 1
        return overloaded

    def leave(self) -> None:
        """Count one finished request."""
        self.inflight -= 1


def _endpoint_label(path: str) -> str:
    for prefix in ("/api/orders/", "/api/tickets/"):
        if path.startswith(prefix) and len(path) > len(prefix):
            return prefix + "{id}"
    return path if path.startswith("/api/") or path in ("/healthz", "/metrics") else "other"


class FrontMiddleware:
    """Sheds non-core paths under overload, adds the mode header, counts requests."""

    def __init__(
        self, app: ASGIApp, monitor: OverloadMonitor, metrics: FrontMetrics, config: FrontConfig
    ) -> None:
        self.app = app
        self.monitor = monitor
        self.metrics = metrics
        self.shedding = config.enabled(Mechanism.SHEDDING)
        self.retry_after_s = config.settings.retry_after_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        endpoint = _endpoint_label(path)
        counted = path.startswith("/api/")
        overloaded = self.monitor.arrive() if counted else False
        self.metrics.inflight.set(self.monitor.inflight)
        try:
            if self.shedding and overloaded and path in SHED_PATHS:
                self.metrics.shed.labels(endpoint).inc()
                self.metrics.requests.labels(endpoint, "429", "degraded").inc()
                shed = error(
                    429,
                    "The service is busy; recommendations are paused, try again later.",
                    Mode.DEGRADED,
                    **{"Retry-After": str(self.retry_after_s)},
                )
                await shed(scope, receive, send)
                return
            await self.app(scope, receive, self._marking(send, endpoint))
        finally:
            if counted:
                self.monitor.leave()

    def _marking(self, send: Send, endpoint: str) -> Send:
        async def marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                mode = next(
                    (v.decode() for k, v in headers if k.decode().lower() == MODE_HEADER.lower()),
                    None,
                )
                if mode is None:
                    mode = "normal"
                    headers.append((MODE_HEADER.lower().encode(), b"normal"))
                    message = {**message, "headers": headers}
                self.metrics.requests.labels(endpoint, str(message["status"]), mode).inc()
            await send(message)

        return marked


# ---- the app -------------------------------------------------------------------------
async def _read_json(request: Request, max_bytes: int) -> dict[str, Any]:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise BadInput(413, f"The request body is larger than {max_bytes} bytes.")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise BadInput(413, f"The request body is larger than {max_bytes} bytes.")
        chunks.append(chunk)
    try:
        body = json.loads(b"".join(chunks))
    except (ValueError, UnicodeDecodeError):
        raise BadInput(400, "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise BadInput(400, "The request body must be a JSON object.")
    return body


Handler = Callable[[Request], Awaitable[Response]]


def _guard(handler: Callable[[Request], Awaitable[Result]], status: int = 200) -> Handler:
    """Turn a handler returning a Result into one returning a marked response."""

    async def endpoint(request: Request) -> Response:
        try:
            result = await handler(request)
        except BadInput as exc:
            return error(exc.status, str(exc))
        except UnknownItem as exc:
            return error(404, str(exc))
        except Unavailable as exc:
            return error(503, str(exc), Mode.DEGRADED)
        return reply(result.payload, result.mode, status)

    return endpoint


def create_app(config: FrontConfig) -> Starlette:
    """Build the front app for ``config``."""
    metrics = FrontMetrics()
    events = EventLog(config.state_dir / "events.jsonl")
    desk = Helpdesk(config, metrics, events)
    max_bytes = config.settings.max_body_bytes
    data.catalogue()  # build the recommendation catalogue now, not in the first request

    async def parse(request: Request, model: type[_Body]) -> Any:
        body = await _read_json(request, max_bytes)
        try:
            return model.model_validate(body)
        except ValidationError as exc:
            raise BadInput(422, _validation_sentence(exc)) from None

    async def chat(request: Request) -> Result:
        r = await parse(request, ChatRequest)
        return await run_in_threadpool(desk.chat, r.customer_id, r.message, r.conversation_id)

    async def order(request: Request) -> Result:
        return await run_in_threadpool(desk.order, request.path_params["order_id"])

    async def create_ticket(request: Request) -> Result:
        r = await parse(request, TicketRequest)
        return await run_in_threadpool(desk.create_ticket, r.model_dump())

    async def get_ticket(request: Request) -> Result:
        return await run_in_threadpool(desk.ticket, request.path_params["ticket_id"])

    async def handoff(request: Request) -> Result:
        r = await parse(request, HandoffRequest)
        return await run_in_threadpool(
            desk.handoff, r.customer_id, r.conversation_id, r.priority == "high"
        )

    async def recommendations(request: Request) -> Result:
        customer_id = request.query_params.get("customer_id", "")
        if not customer_id:
            raise BadInput(400, "The query parameter 'customer_id' is required.")
        items = await run_in_threadpool(data.recommendations_for, customer_id)
        return Result({"customer_id": customer_id, "items": items})

    async def healthz(request: Request) -> Response:
        return reply({"status": "ok"})

    async def prometheus(request: Request) -> Response:
        return Response(
            generate_latest(metrics.registry),
            media_type=CONTENT_TYPE_LATEST,
            headers={MODE_HEADER: "normal"},
        )

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        sentence = {404: "No such endpoint.", 405: "Method not allowed on this endpoint."}
        return error(exc.status_code, sentence.get(exc.status_code, str(exc.detail)))

    async def server_error(request: Request, exc: Exception) -> Response:
        return error(500, "Internal error; the incident was logged.", Mode.DEGRADED)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        desk.start()
        try:
            yield
        finally:
            desk.close()

    app = Starlette(
        routes=[
            Route("/api/chat", _guard(chat), methods=["POST"]),
            Route("/api/orders/{order_id}", _guard(order), methods=["GET"]),
            Route("/api/tickets", _guard(create_ticket, 201), methods=["POST"]),
            Route("/api/tickets/{ticket_id}", _guard(get_ticket), methods=["GET"]),
            Route("/api/handoff", _guard(handoff), methods=["POST"]),
            Route("/api/recommendations", _guard(recommendations), methods=["GET"]),
            Route("/healthz", healthz),
            Route("/metrics", prometheus),
        ],
        exception_handlers={HTTPException: http_error, Exception: server_error},
        lifespan=lifespan,
    )
    monitor = OverloadMonitor(
        config.settings.shed_inflight, config.settings.shed_rps, clock=time.monotonic
    )
    app.add_middleware(FrontMiddleware, monitor=monitor, metrics=metrics, config=config)
    app.state.helpdesk = desk
    return app
