"""The dependency services the front calls, one Starlette app per role.

Every app has ``GET /healthz`` and a fault hook for tests without Toxiproxy:
``POST /admin/fault {"mode": "none"|"error"|"delay", "delay_s": 1.5}`` makes every
other request answer 503 (error) or wait first (delay) until set back to ``none``.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from helpdesk import classifier, data
from helpdesk.agents_queue import AgentQueue

Handler = Callable[[Request], Awaitable[Response]]


class _Faults:
    """The current injected fault of one dependency process."""

    def __init__(self) -> None:
        self.mode = "none"
        self.delay_s = 0.0


def _with_faults(routes: list[Route]) -> Starlette:
    """Build an app with /healthz and /admin/fault next to ``routes``."""
    faults = _Faults()

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def set_fault(request: Request) -> Response:
        body = await request.json()
        mode = body.get("mode", "none")
        if mode not in ("none", "error", "delay"):
            return JSONResponse({"error": f"unknown fault mode {mode!r}"}, status_code=400)
        faults.mode, faults.delay_s = mode, float(body.get("delay_s", 0.0))
        return JSONResponse({"mode": faults.mode, "delay_s": faults.delay_s})

    def guard(handler: Handler) -> Handler:
        async def guarded(request: Request) -> Response:
            if faults.mode == "error":
                return JSONResponse({"error": "injected fault"}, status_code=503)
            if faults.mode == "delay":
                await asyncio.sleep(faults.delay_s)
            return await handler(request)

        return guarded

    wrapped = [Route(r.path, guard(r.endpoint), methods=sorted(r.methods or ())) for r in routes]
    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/admin/fault", set_fault, methods=["POST"]),
            *wrapped,
        ]
    )


def nlu_app() -> Starlette:
    """``POST /classify {"text"}`` -> ``{"intent", "sentiment"}``."""

    async def classify(request: Request) -> Response:
        body = await request.json()
        result = classifier.classify(str(body.get("text", "")))
        return JSONResponse({"intent": result.intent, "sentiment": result.sentiment})

    return _with_faults([Route("/classify", classify, methods=["POST"])])


def kb_app() -> Starlette:
    """``GET /answers/{intent}`` -> ``{"intent", "answer", "title", "article"}``; ``GET /faq``.

    ``answer`` is the short reply the front uses; ``article`` is the whole help-centre
    article (a few KB, ``data.kb_article``), as a real knowledge base returns it.
    ``GET /faq`` -> every intent's short answer.
    """

    async def answer(request: Request) -> Response:
        intent = request.path_params["intent"]
        text = data.FAQ_ANSWERS.get(intent, data.FAQ_ANSWERS["unknown"])
        article = data.kb_article(intent)
        return JSONResponse(
            {
                "intent": intent,
                "answer": text,
                "title": article["title"],
                "article": article["body"],
            }
        )

    async def faq(request: Request) -> Response:
        return JSONResponse(data.FAQ_ANSWERS)

    return _with_faults([Route("/answers/{intent}", answer), Route("/faq", faq)])


def orders_app(role: str) -> Starlette:
    """``GET /orders/{id}`` -> the seed record, 404 for an unknown id."""

    async def order(request: Request) -> Response:
        record = data.order_record(request.path_params["order_id"])
        if record is None:
            return JSONResponse({"error": "unknown order"}, status_code=404)
        return JSONResponse({**record, "store": role})

    return _with_faults([Route("/orders/{order_id}", order)])


class TicketStore:
    """Tickets in SQLite; creating the same ticket id twice keeps the first."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS tickets (ticket_id TEXT PRIMARY KEY, customer_id TEXT,"
            " kind TEXT, order_id TEXT, text TEXT)"
        )
        self._lock = threading.Lock()

    def create(self, t: dict[str, Any]) -> bool:
        """Store a ticket; return False if the id was already stored."""
        with self._lock:
            cur = self._db.execute(
                "INSERT OR IGNORE INTO tickets VALUES (?, ?, ?, ?, ?)",
                (t["ticket_id"], t["customer_id"], t["kind"], t.get("order_id"), t["text"]),
            )
            return cur.rowcount == 1

    def get(self, ticket_id: str) -> dict[str, Any] | None:
        """Return a stored ticket or None."""
        with self._lock:
            row = self._db.execute(
                "SELECT ticket_id, customer_id, kind, order_id, text FROM tickets"
                " WHERE ticket_id = ?",
                (ticket_id,),
            ).fetchone()
        if row is None:
            return None
        return dict(zip(("ticket_id", "customer_id", "kind", "order_id", "text"), row, strict=True))


def tickets_app(state_dir: Path) -> Starlette:
    """``POST /tickets`` (idempotent by ticket_id: 201 new, 200 known), ``GET /tickets/{id}``."""
    store = TicketStore(state_dir / "tickets.db")

    async def create(request: Request) -> Response:
        body = await request.json()
        created = store.create(body)
        return JSONResponse({"ticket_id": body["ticket_id"]}, status_code=201 if created else 200)

    async def get(request: Request) -> Response:
        ticket = store.get(request.path_params["ticket_id"])
        if ticket is None:
            return JSONResponse({"error": "unknown ticket"}, status_code=404)
        return JSONResponse(ticket)

    return _with_faults(
        [Route("/tickets", create, methods=["POST"]), Route("/tickets/{ticket_id}", get)]
    )


def agents_app(agents: int, handle_s: float = 30.0) -> Starlette:
    """``POST /queue`` -> ``{"accepted", "queue_position", "estimated_wait_s"}``."""
    queue = AgentQueue(agents, handle_s)

    async def enqueue(request: Request) -> Response:
        body = await request.json()
        answer = queue.enqueue(
            str(body.get("customer_id", "")),
            high=body.get("priority") == "high",
            max_position=int(body.get("max_position", 10)),
            max_wait_s=float(body.get("max_wait_s", 300.0)),
        )
        return JSONResponse(
            {
                "accepted": answer.accepted,
                "queue_position": answer.queue_position,
                "estimated_wait_s": answer.estimated_wait_s,
            }
        )

    async def reset(request: Request) -> Response:
        queue.reset()
        return JSONResponse({"waiting": 0})

    async def status(request: Request) -> Response:
        return JSONResponse({"agents": queue.agents, "waiting": queue.waiting()})

    return _with_faults(
        [
            Route("/queue", enqueue, methods=["POST"]),
            Route("/queue", status, methods=["GET"]),
            Route("/admin/reset", reset, methods=["POST"]),
        ]
    )
