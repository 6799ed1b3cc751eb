"""Tests for harness.load.writes: which requests on a write endpoint are acknowledged,
indeterminate or unmatched, and where the id comes from (no Locust in this process)."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

import pytest

from harness.drill.model import WriteRule
from harness.load import jsonpath
from harness.load.writes import WriteReader, answer_lost
from harness.results.model import Outcome
from harness.results.raw import WriteKind


@dataclass
class FakeRequest:
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | str | None = None


@dataclass
class FakeResponse:
    status_code: int
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes = b""
    history: list[Any] = field(default_factory=list)
    request: FakeRequest | None = None


def rule(**fields: Any) -> WriteRule:
    return WriteRule(endpoint="ticket:create", read_path="/tickets/{id}", **fields)


def read(
    rule_: WriteRule,
    response: Any,
    *,
    exception: BaseException | None = None,
    outcome: Outcome | None = None,
    shed: tuple[int, ...] = (429,),
):
    reader = WriteReader(rule_, shed)
    status = response.status_code if response is not None else 0
    if outcome is None:
        outcome = Outcome.OK if 0 < status < 400 else Outcome.ERROR
    body = response.content if response is not None else None
    return reader.read(t_s=1.5, response=response, exception=exception, outcome=outcome, body=body)


LOCATION = {"id_header": "Location", "id_regex": r"/tickets/(T-\d+)"}


def test_module_does_not_import_locust() -> None:
    """The write reader is usable without Locust's monkey-patching."""
    assert "locust" not in sys.modules


@pytest.mark.parametrize(
    ("path", "document", "expected"),
    [
        ("id", {"id": 7}, 7),
        ("data.ticket.id", {"data": {"ticket": {"id": "T-1"}}}, "T-1"),
        ("items[1].id", {"items": [{"id": 1}, {"id": 2}]}, 2),
        ("items[-1].id", {"items": [{"id": 1}, {"id": 2}]}, 2),
        ("[0].id", [{"id": "first"}], "first"),
        ("matrix[0][1]", {"matrix": [[1, 2]]}, 2),
        ("items[5].id", {"items": []}, None),
        ("data.ticket", {"data": "text"}, None),
    ],
)
def test_json_path_reads_fields_and_list_indexes(path: str, document: Any, expected: Any) -> None:
    """A JSON path walks dotted fields and [n] indexes; anything missing is None."""
    assert jsonpath.lookup(document, jsonpath.parse(path)) == expected


@pytest.mark.parametrize("path", ["", "a..b", "a.", ".a", "a[x]", "a[1", "a]"])
def test_json_path_refuses_malformed_paths(path: str) -> None:
    """A malformed path is a ValueError with an example of a good one."""
    with pytest.raises(ValueError, match=r"data\.ticket\.id"):
        jsonpath.parse(path)


def test_id_field_keeps_working_for_a_top_level_field() -> None:
    """id_field (old drills) reads a top-level JSON field of a 2xx; a dotted name is one key."""
    row = read(rule(id_field="ticket_id"), FakeResponse(201, content=b'{"ticket_id": "T-7"}'))
    assert row is not None and row.kind is WriteKind.ACKNOWLEDGED
    assert (row.write_id, row.read_path, row.status) == ("T-7", "/tickets/T-7", 201)
    dotted = read(rule(id_field="a.b"), FakeResponse(200, content=b'{"a.b": 3, "a": {"b": 4}}'))
    assert dotted is not None and dotted.write_id == "3"


def test_id_json_reads_a_nested_path() -> None:
    """id_json takes the id from a nested field or list item of the JSON answer."""
    body = b'{"data": {"tickets": [{"id": "T-9"}]}}'
    row = read(rule(id_json="data.tickets[0].id"), FakeResponse(201, content=body))
    assert row is not None and row.write_id == "T-9" and row.kind is WriteKind.ACKNOWLEDGED


def test_location_of_a_302_is_an_acknowledged_write() -> None:
    """A header rule takes 2xx and 3xx by default: a 302 with Location: /tickets/T-000042."""
    response = FakeResponse(302, {"Location": "/tickets/T-000042"})
    row = read(rule(**LOCATION), response)
    assert row is not None and row.kind is WriteKind.ACKNOWLEDGED
    assert row.write_id == "T-000042" and row.read_path == "/tickets/T-000042"


def test_a_followed_redirect_is_read_from_the_history() -> None:
    """Redirect followed (history = [302], final 200 page): the 302 acknowledges, its Location
    gives the id; the same page reached without a redirect acknowledges nothing."""
    redirect = FakeResponse(302, {"location": "http://h/tickets/T-000043"})
    final = FakeResponse(200, {"Content-Type": "text/html"}, b"<p>T-000043</p>", [redirect])
    row = read(rule(**LOCATION), final)
    assert row is not None and row.kind is WriteKind.ACKNOWLEDGED and row.write_id == "T-000043"
    plain = read(rule(**LOCATION), FakeResponse(200, content=b"<p>T-000043</p>"))
    assert plain is not None and plain.kind is WriteKind.UNMATCHED
    assert "no Location header" in plain.note


def test_ack_status_narrows_what_acknowledges() -> None:
    """With ack_status [303], a 302 is not an acknowledgement and says so."""
    row = read(rule(ack_status=[303], **LOCATION), FakeResponse(302, {"Location": "/tickets/T-1"}))
    assert row is not None and row.kind is WriteKind.UNMATCHED
    assert "answered 302: not an acknowledgement (303)" in row.note


def test_a_json_rule_names_the_redirect_it_did_not_take() -> None:
    """The real-app case: id_field on a form that answers 302 with the id in Location."""
    row = read(rule(id_field="id"), FakeResponse(302, {"Location": "/tickets/T-000001"}))
    assert row is not None and row.kind is WriteKind.UNMATCHED and row.write_id is None
    assert "answered 302: not an acknowledgement (2xx)" in row.note
    assert "'/tickets/T-000001'" in row.note and "id_header: Location" in row.note


def test_header_not_matching_the_regex_is_unmatched_with_the_value() -> None:
    """A Location that does not match id_regex is no acknowledgement; the note quotes it."""
    row = read(rule(**LOCATION), FakeResponse(302, {"Location": "/login?next=/tickets"}))
    assert row is not None and row.kind is WriteKind.UNMATCHED
    assert "'/login?next=/tickets' does not match id_regex" in row.note


def test_header_without_regex_is_the_whole_value() -> None:
    """id_header alone takes the header's whole value."""
    row = read(rule(id_header="X-Ticket-Id"), FakeResponse(201, {"x-ticket-id": "T-5"}))
    assert row is not None and row.write_id == "T-5"


def test_body_regex_finds_the_id_in_html() -> None:
    """id_body_regex searches the body (a server-rendered confirmation page)."""
    page = FakeResponse(200, content=b"<h1>Thanks</h1><span class='id'>T-000777</span>")
    row = read(rule(id_body_regex=r"class='id'>(T-\d+)<"), page)
    assert row is not None and row.write_id == "T-000777"
    miss = read(rule(id_body_regex=r"class='id'>(T-\d+)<"), FakeResponse(200, content=b"Oops"))
    assert miss is not None and miss.kind is WriteKind.UNMATCHED and "'Oops'" in miss.note


def test_non_json_body_says_so() -> None:
    """A JSON rule on an HTML answer: unmatched, 'the body is not JSON'."""
    row = read(rule(id_json="data.id"), FakeResponse(200, content=b"<html>ok</html>"))
    assert row is not None and "the body is not JSON" in row.note


@pytest.mark.parametrize(
    ("exception", "seen"),
    [
        (TimeoutError("timed out"), "no answer: timeout"),
        (ConnectionResetError(104, "Connection reset by peer"), "no answer: connection reset"),
        (BrokenPipeError(32, "Broken pipe"), "no answer: connection broken while sending"),
    ],
)
def test_a_lost_answer_is_an_indeterminate_write(exception: BaseException, seen: str) -> None:
    """Sent but no answer: indeterminate, with what the client saw; no id from the answer."""
    row = read(rule(**LOCATION), None, exception=exception)
    assert row is not None and row.kind is WriteKind.INDETERMINATE
    assert (row.note, row.status, row.write_id, row.read_path) == (seen, 0, None, None)


def test_a_5xx_is_indeterminate_but_a_declared_shed_status_is_not() -> None:
    """A 500 may have been written before it failed; a 503 the drill calls shed was refused."""
    r = rule(**LOCATION)
    row = read(r, FakeResponse(500))
    assert row is not None and row.kind is WriteKind.INDETERMINATE and row.note == "answered 500"
    shed = read(r, FakeResponse(503), shed=(429, 503), outcome=Outcome.SHED)
    assert shed is not None and shed.kind is WriteKind.UNMATCHED


def test_a_refused_connection_was_never_sent() -> None:
    """Connection refused: nothing reached the target, so it is not indeterminate."""
    row = read(rule(**LOCATION), None, exception=ConnectionRefusedError(111, "refused"))
    assert row is not None and row.kind is WriteKind.UNMATCHED and "not sent" in row.note


def test_answer_lost_looks_under_wrappers() -> None:
    """requests wraps the OS error (ConnectionError(ProtocolError(..., RemoteDisconnected)))."""

    class RemoteDisconnected(Exception):
        pass

    class ProtocolError(Exception):
        pass

    wrapped = ConnectionError(ProtocolError("Connection aborted.", RemoteDisconnected("closed")))
    assert answer_lost(wrapped) == "connection closed without an answer"
    try:
        try:
            raise ConnectionRefusedError(111, "refused")
        except OSError as inner:
            raise ConnectionError("Max retries exceeded") from inner
    except ConnectionError as outer:
        assert answer_lost(outer) is None

    class ReadTimeout(Exception):  # requests' and httpx's name, not a TimeoutError
        pass

    assert answer_lost(ReadTimeout("read timed out")) == "timeout"


def test_id_from_request_header_reads_back_lost_answers() -> None:
    """With the id in the request, an indeterminate write has an id and a read path."""
    r = rule(id_from_request={"header": "Idempotency-Key"})
    sent = FakeRequest(headers={"idempotency-key": "K-42"})
    lost = read(r, FakeResponse(0, request=sent), exception=TimeoutError("timed out"))
    assert lost is not None and lost.kind is WriteKind.INDETERMINATE
    assert (lost.write_id, lost.read_path) == ("K-42", "/tickets/K-42")
    ok = read(r, FakeResponse(201, request=sent))
    assert ok is not None and ok.kind is WriteKind.ACKNOWLEDGED and ok.write_id == "K-42"


def test_id_from_request_json_body_and_the_original_request_of_a_redirect() -> None:
    """The id from the request's JSON body; after a redirect, from the first request."""
    r = rule(id_from_request={"json": "ticket.ref"})
    post = FakeRequest(body=b'{"ticket": {"ref": "R-7"}}')
    redirect = FakeResponse(303, request=post)
    final = FakeResponse(200, history=[redirect], request=FakeRequest())
    row = read(rule(id_from_request={"json": "ticket.ref"}, ack_status=[303]), final)
    assert row is not None and row.kind is WriteKind.ACKNOWLEDGED and row.write_id == "R-7"
    lost = read(r, FakeResponse(502, request=FakeRequest(body='{"ticket": {"ref": "R-8"}}')))
    assert lost is not None and lost.kind is WriteKind.INDETERMINATE and lost.write_id == "R-8"
    bare = read(r, FakeResponse(201, request=FakeRequest(body=b"a=b")))
    assert bare is not None and bare.kind is WriteKind.UNMATCHED
    assert "the request carries no id (JSON ticket.ref)" in bare.note


def test_each_kind_of_unmatched_answer_is_kept_once() -> None:
    """Unmatched answers are reasons, not a log: one row per (status, reason) per reader."""
    reader = WriteReader(rule(**LOCATION), (429,))
    seen = [
        reader.read(t_s=i, response=FakeResponse(s), exception=None, outcome=o, body=b"")
        for i, (s, o) in enumerate(
            [(403, Outcome.ERROR), (403, Outcome.ERROR), (200, Outcome.OK), (200, Outcome.OK)]
        )
    ]
    assert [r is not None for r in seen] == [True, False, True, False]
    lost = [
        reader.read(
            t_s=i, response=None, exception=TimeoutError(), outcome=Outcome.ERROR, body=None
        )
        for i in range(3)
    ]
    assert all(r is not None and r.kind is WriteKind.INDETERMINATE for r in lost)


def test_a_request_marked_failed_is_not_acknowledged() -> None:
    """A 302 the scenario marked failed (catch_response) acknowledges nothing."""
    response = FakeResponse(302, {"Location": "/tickets/T-1"})
    row = read(rule(**LOCATION), response, exception=ValueError("x"), outcome=Outcome.ERROR)
    assert row is not None and row.kind is WriteKind.UNMATCHED and "marked failed" in row.note
