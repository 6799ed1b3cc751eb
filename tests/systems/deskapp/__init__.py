"""deskapp: a second system under test, shaped like a server-rendered web app (docs/systems.md).

Unlike the reference ``helpdesk/`` (JSON APIs, breakers, SQLite), deskapp is one
Starlette process rendering Jinja2 pages, with a CSRF-protected HTML form, a
staff JSON API behind HTTP basic auth, and a real database server (Redis) that
it reaches over TCP, through the Toxiproxy proxy ``deskapp_db`` in tests and
drills. It has no resilience mechanism at all: a slow database makes slow
pages, a database that is down makes 500s.

Routes (``GET`` unless said otherwise):

==================================  =========================================================
``/``                               home page (HTML, no database)
``/tickets/new``                    the form (HTML, no database); sets cookie
                                    ``deskapp_session`` if absent and renders the hidden
                                    field ``csrf_token`` bound to it
``POST /tickets``                   form fields ``csrf_token``, ``email``, ``subject``,
                                    ``message`` (urlencoded); **302** with
                                    ``Location: /tickets/T-000123`` (the new id); 403
                                    without a valid token for the cookie's session; 400
                                    (the form again, with errors) for a bad field; 413 over
                                    64 KiB
``/tickets/{id}``                   **200** with the ticket (``<span class="ticket-id">``);
                                    **200 "Invalid ticket ID"** (not 404) for an unknown or
                                    malformed id: a missing ticket is told by the body
``/staff/api/tickets/{id}``         basic auth; 200 JSON ``{id, email, subject, message,
                                    status, created_at}``, 404 ``{"error": "ticket not
                                    found", "id"}``, 401 (``WWW-Authenticate``) without auth
``DELETE /staff/api/tickets/{id}``  basic auth; 204, or 404: removes a ticket behind the
                                    harness's back (a "lost" write)
``/staff/api/tickets?limit=50``     basic auth; ``{"count": N, "tickets": [newest first]}``
``/health``                         200 ``{"status": "ok"}``; never touches the database
``/health/deep``                    PING through the proxy: 200 ``{"status": "ok", "db_ms"}``
                                    or 503 ``{"status": "down", "db": reason}``
==================================  =========================================================

Staff credentials: ``staff`` / ``deskapp-staff`` (:data:`STAFF_USER`,
:data:`STAFF_PASSWORD`). Any database error while serving a page is a 500 (HTML;
JSON under ``/staff/api``). Database timeouts: 0.5 s to connect, 2 s per command,
never retried; one reconnect on a broken connection.

Start it: :func:`start_deskapp` (Redis on a free port, the proxy if a Toxiproxy
URL is given, the app on port 0; everything stopped again on failure), the
pytest fixture in :mod:`tests.systems.deskapp.fixtures`, or by hand::

    python -m tests.systems.deskapp --toxiproxy embedded    # prints the URLs; Ctrl-C stops all

Drill content lives beside it: ``scenarios/customer_path.py`` (form, POST with the
token, follow ``Location``), ``faults/``, ``drills/``.
"""

from .config import (
    CSRF_FIELD,
    INVALID_TICKET_TEXT,
    PROXY_NAME,
    SESSION_COOKIE,
    STAFF_PASSWORD,
    STAFF_USER,
    TICKET_ID_RE,
)
from .launcher import DeskappConfig, RunningDeskapp, start_deskapp
from .processes import StartupError

__all__ = [
    "CSRF_FIELD",
    "INVALID_TICKET_TEXT",
    "PROXY_NAME",
    "SESSION_COOKIE",
    "STAFF_PASSWORD",
    "STAFF_USER",
    "TICKET_ID_RE",
    "DeskappConfig",
    "RunningDeskapp",
    "StartupError",
    "start_deskapp",
]
