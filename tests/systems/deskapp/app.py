"""The deskapp ASGI app: server-rendered pages, a CSRF-protected form, a staff JSON API.

Routes and answers are listed in the package docstring (``tests/systems/deskapp``).
Every database failure (refused, reset, timed out) raised while serving a page
becomes a 500 (an HTML page, JSON under ``/staff/api``); ``/health`` never
touches the database, ``/health/deep`` pings it.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from jinja2 import Environment, FileSystemLoader, select_autoescape
from redis.exceptions import RedisError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from . import security
from .config import (
    CSRF_FIELD,
    INVALID_TICKET_TEXT,
    MAX_FORM_BYTES,
    SESSION_COOKIE,
    TICKET_ID_RE,
    AppSettings,
)
from .store import TicketStore, connect

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent / "templates"),
    autoescape=select_autoescape(["html"]),
)
EMPTY_FORM = {"email": "", "subject": "", "message": ""}


def render(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(TEMPLATES.get_template(name).render(**context), status_code=status_code)


def error_page(status_code: int, title: str, detail: str) -> HTMLResponse:
    return render("error.html", status_code, title=title, detail=detail)


def create_app(settings: AppSettings) -> Starlette:
    """The app, talking to Redis at ``settings.db_address`` (a Toxiproxy proxy in drills)."""
    store: TicketStore | None = None

    def db() -> TicketStore:
        assert store is not None, "the lifespan opens the store"
        return store

    def form_page(request: Request, form: dict[str, str], errors: list[str]) -> HTMLResponse:
        session_id = request.cookies.get(SESSION_COOKIE) or security.new_session_id()
        token = security.csrf_token(settings.secret, session_id)
        page = render(
            "new_ticket.html", 400 if errors else 200, csrf_token=token, form=form, errors=errors
        )
        if request.cookies.get(SESSION_COOKIE) != session_id:
            page.set_cookie(SESSION_COOKIE, session_id, httponly=True, samesite="lax")
        return page

    async def home(request: Request) -> Response:
        return render("home.html")

    async def new_ticket(request: Request) -> Response:
        return form_page(request, dict(EMPTY_FORM), [])

    async def create_ticket(request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_FORM_BYTES:
            return error_page(
                413, "Too large", f"The form may carry at most {MAX_FORM_BYTES} bytes."
            )
        fields = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        token = fields.get(CSRF_FIELD)
        if not security.csrf_valid(settings.secret, request.cookies.get(SESSION_COOKIE), token):
            return error_page(
                403, "Forbidden", "CSRF verification failed. Reload the form and send it again."
            )
        form = {k: fields.get(k, "").strip() for k in EMPTY_FORM}
        errors = _form_errors(form)
        if errors:
            return form_page(request, form, errors)
        ticket_id = await db().create(form["email"], form["subject"], form["message"])
        return RedirectResponse(f"/tickets/{ticket_id}", status_code=302)

    async def show_ticket(request: Request) -> Response:
        ticket_id = request.path_params["ticket_id"]
        ticket = await db().get(ticket_id) if TICKET_ID_RE.fullmatch(ticket_id) else None
        if ticket is None:
            return render("invalid_ticket.html", text=INVALID_TICKET_TEXT)  # 200, as real apps do
        return render("ticket.html", ticket=ticket)

    def staff(handler: Any) -> Any:
        async def guarded(request: Request) -> Response:
            auth = request.headers.get("authorization")
            if not security.basic_auth_ok(auth, settings.staff_user, settings.staff_password):
                return JSONResponse(
                    {"error": "authentication required"},
                    status_code=401,
                    headers={"WWW-Authenticate": 'Basic realm="deskapp staff"'},
                )
            return await handler(request)

        return guarded

    async def api_ticket(request: Request) -> Response:
        ticket_id = request.path_params["ticket_id"]
        ticket = await db().get(ticket_id) if TICKET_ID_RE.fullmatch(ticket_id) else None
        if ticket is None:
            return JSONResponse({"error": "ticket not found", "id": ticket_id}, status_code=404)
        return JSONResponse(ticket.to_json())

    async def api_delete(request: Request) -> Response:
        ticket_id = request.path_params["ticket_id"]
        removed = await db().delete(ticket_id) if TICKET_ID_RE.fullmatch(ticket_id) else False
        if not removed:
            return JSONResponse({"error": "ticket not found", "id": ticket_id}, status_code=404)
        return Response(status_code=204)

    async def api_list(request: Request) -> Response:
        try:
            limit = min(max(int(request.query_params.get("limit", "50")), 1), 500)
        except ValueError:
            return JSONResponse({"error": "limit must be a whole number"}, status_code=400)
        count, tickets = await db().latest(limit)
        return JSONResponse({"count": count, "tickets": [t.to_json() for t in tickets]})

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def deep_health(request: Request) -> Response:
        started = time.perf_counter()
        try:
            await db().ping()
        except RedisError as exc:
            return JSONResponse({"status": "down", "db": f"{type(exc).__name__}: {exc}"}, 503)
        db_ms = round((time.perf_counter() - started) * 1000, 1)
        return JSONResponse({"status": "ok", "db": "ok", "db_ms": db_ms})

    async def database_failed(request: Request, exc: Exception) -> Response:
        detail = f"{type(exc).__name__}: {exc}"
        if request.url.path.startswith("/staff/api/"):
            return JSONResponse({"error": "database unavailable", "detail": detail}, 500)
        return error_page(500, "Something went wrong", "Please try again in a moment.")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        nonlocal store
        store = TicketStore(connect(settings))
        try:
            yield
        finally:
            await store.close()

    return Starlette(
        routes=[
            Route("/", home),
            Route("/tickets/new", new_ticket),
            Route("/tickets", create_ticket, methods=["POST"]),
            Route("/tickets/{ticket_id}", show_ticket),
            Route("/staff/api/tickets", staff(api_list)),
            Route("/staff/api/tickets/{ticket_id}", staff(api_ticket)),
            Route("/staff/api/tickets/{ticket_id}", staff(api_delete), methods=["DELETE"]),
            Route("/health", health),
            Route("/health/deep", deep_health),
        ],
        exception_handlers={RedisError: database_failed},
        lifespan=lifespan,
    )


def _form_errors(form: dict[str, str]) -> list[str]:
    errors = []
    if "@" not in form["email"] or len(form["email"]) > 254:
        errors.append("Enter a valid e-mail address.")
    if not form["subject"] or len(form["subject"]) > 200:
        errors.append("Enter a subject of at most 200 characters.")
    if not form["message"] or len(form["message"]) > 5000:
        errors.append("Enter a message of at most 5000 characters.")
    return errors
