"""deskapp itself behaves as its docstring says: pages, CSRF, auth, health, database faults.

These are the facts later harness features (write tracking through a Location
header, read-back with auth, "absent" told by a body) will be proven on, so each
is pinned here against the real app, Redis and Toxiproxy.
"""

from __future__ import annotations

import re
import time

import httpx
import pytest

from tests.systems.deskapp import CSRF_FIELD, INVALID_TICKET_TEXT, SESSION_COOKIE
from tests.systems.deskapp.fixtures import DeskappEnv

TOKEN_RE = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
FORM = {"email": "ana@example.com", "subject": "Broken parcel", "message": "It arrived broken."}


def csrf_token(http: httpx.Client) -> str:
    """Open the form (which sets the session cookie) and return its hidden token."""
    page = http.get("/tickets/new")
    assert page.status_code == 200
    found = TOKEN_RE.search(page.text)
    assert found, page.text
    return found.group(1)


def create_ticket(http: httpx.Client) -> str:
    """File a ticket through the form; return the path it redirects to."""
    answer = http.post("/tickets", data={**FORM, CSRF_FIELD: csrf_token(http)})
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def timed_get(http: httpx.Client, path: str) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = http.get(path)
    return response, time.perf_counter() - started


def test_form_with_its_token_redirects_to_the_new_ticket(deskapp_env: DeskappEnv) -> None:
    """GET sets a session cookie and a token; POST with both answers 302 to /tickets/T-nnnnnn."""
    with deskapp_env.client() as http:
        location = create_ticket(http)
        assert SESSION_COOKIE in http.cookies
        assert re.fullmatch(r"/tickets/T-\d{6}", location)
        page = http.get(location)
    assert page.status_code == 200
    assert location.rsplit("/", 1)[1] in page.text
    assert FORM["subject"] in page.text


def test_post_without_a_valid_token_is_403(deskapp_env: DeskappEnv) -> None:
    """No token, a forged one, or one made for another session's cookie: 403, nothing stored."""
    with (
        deskapp_env.client() as http,
        deskapp_env.client() as other,
        deskapp_env.client(staff=True) as staff,
    ):
        before = staff.get("/staff/api/tickets").json()["count"]
        token = csrf_token(http)
        assert http.post("/tickets", data=FORM).status_code == 403
        assert http.post("/tickets", data={**FORM, CSRF_FIELD: "0" * 64}).status_code == 403
        csrf_token(other)  # another browser, its own session cookie
        assert other.post("/tickets", data={**FORM, CSRF_FIELD: token}).status_code == 403
        assert staff.get("/staff/api/tickets").json()["count"] == before


def test_unknown_ticket_is_200_invalid_ticket_id(deskapp_env: DeskappEnv) -> None:
    """An unknown or malformed id answers 200 with 'Invalid ticket ID', never 404."""
    with deskapp_env.client() as http:
        for path in ("/tickets/T-999999", "/tickets/nonsense"):
            page = http.get(path)
            assert page.status_code == 200
            assert INVALID_TICKET_TEXT in page.text


def test_staff_api_needs_basic_auth(deskapp_env: DeskappEnv) -> None:
    """Without or with wrong credentials 401 + WWW-Authenticate; with them the ticket as JSON."""
    with deskapp_env.client() as http, deskapp_env.client(staff=True) as staff:
        ticket_id = create_ticket(http).rsplit("/", 1)[1]
        path = f"/staff/api/tickets/{ticket_id}"
        anonymous = http.get(path)
        assert anonymous.status_code == 401
        assert anonymous.headers["WWW-Authenticate"].startswith("Basic")
        assert http.get(path, auth=("staff", "wrong")).status_code == 401
        answer = staff.get(path)
    assert answer.status_code == 200
    assert answer.json() | {"created_at": 0} == {
        "id": ticket_id,
        **FORM,
        "status": "open",
        "created_at": 0,
    }


def test_delete_makes_a_ticket_invalid_behind_the_customers_back(deskapp_env: DeskappEnv) -> None:
    """DELETE removes it: the staff API then says 404, the public page 'Invalid ticket ID'."""
    with deskapp_env.client() as http, deskapp_env.client(staff=True) as staff:
        location = create_ticket(http)
        ticket_id = location.rsplit("/", 1)[1]
        assert http.delete(f"/staff/api/tickets/{ticket_id}").status_code == 401
        assert staff.delete(f"/staff/api/tickets/{ticket_id}").status_code == 204
        assert staff.get(f"/staff/api/tickets/{ticket_id}").status_code == 404
        assert staff.delete(f"/staff/api/tickets/{ticket_id}").status_code == 404
        assert ticket_id not in [t["id"] for t in staff.get("/staff/api/tickets").json()["tickets"]]
        page = http.get(location)
    assert page.status_code == 200
    assert INVALID_TICKET_TEXT in page.text


def test_health_stays_fast_while_the_database_is_slow(deskapp_env: DeskappEnv) -> None:
    """With 500 ms on every Redis answer, /health stays fast; /health/deep and pages take >= 0.5 s."""
    with deskapp_env.client() as http:
        location = create_ticket(http)
        with deskapp_env.db_latency(500):
            healths = [timed_get(http, "/health") for _ in range(3)]
            deep, deep_s = timed_get(http, "/health/deep")
            page, page_s = timed_get(http, location)
    assert [h.status_code for h, _ in healths] == [200, 200, 200]
    assert deep.status_code == page.status_code == 200
    health_s = min(s for _, s in healths)  # one database round trip would cost >= 0.5 s
    assert health_s < 0.5, f"/health took {health_s:.3f} s at best: it waited for the database"
    assert deep_s >= 0.5, f"/health/deep took {deep_s:.3f} s"
    assert page_s >= 0.5, f"the ticket page took {page_s:.3f} s"


def test_database_down_makes_db_pages_500_and_only_them(deskapp_env: DeskappEnv) -> None:
    """Proxy disabled: ticket pages and the staff API 500, deep health 503; form and /health 200."""
    with deskapp_env.client() as http, deskapp_env.client(staff=True) as staff:
        location = create_ticket(http)
        token = csrf_token(http)
        with deskapp_env.db_down():
            assert http.get(location).status_code == 500
            assert http.post("/tickets", data={**FORM, CSRF_FIELD: token}).status_code == 500
            assert staff.get(location.replace("/tickets", "/staff/api/tickets")).status_code == 500
            assert http.get("/health/deep").status_code == 503
            assert http.get("/health").status_code == 200
            assert http.get("/tickets/new").status_code == 200
        assert http.get(location).status_code == 200


@pytest.mark.parametrize("field", ["email", "subject", "message"])
def test_a_missing_field_shows_the_form_again(deskapp_env: DeskappEnv, field: str) -> None:
    """A valid token but an empty field: 400, the form with an error, nothing redirected."""
    with deskapp_env.client() as http:
        answer = http.post("/tickets", data={**FORM, field: "", CSRF_FIELD: csrf_token(http)})
    assert answer.status_code == 400
    assert 'class="errors"' in answer.text
    assert TOKEN_RE.search(answer.text)
