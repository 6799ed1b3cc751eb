"""Behaviour of the front on a shared, real helpdesk (processes on loopback)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from hd_helpers import assert_marked, events_of, set_fault, wait_for

from helpdesk import RunningSystem

pytestmark = pytest.mark.timeout(60)

CHAT = {"customer_id": "c-1", "channel": "web", "conversation_id": None}


def chat(front: httpx.Client, message: str, **extra: object) -> httpx.Response:
    return front.post("/api/chat", json={**CHAT, "message": message, **extra})


@pytest.fixture(autouse=True)
def _clean_agents(system: RunningSystem) -> None:
    """Every test starts with free agents and no injected faults."""
    httpx.post(f"{system.direct_urls['agents']}/admin/reset", trust_env=False)
    for url in system.direct_urls.values():
        set_fault(url, "none")


def test_healthz_and_markers(front: httpx.Client) -> None:
    """/healthz answers ok and carries the normal mode marker."""
    response = front.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert_marked(response, "normal")


def test_chat_answers_order_status_from_orders(front: httpx.Client) -> None:
    """A 'where is my order' message is classified and answered with the order's status."""
    response = chat(front, "Where is my order A1234?")
    assert response.status_code == 200
    body = response.json()
    assert body["intent"] == "order_status"
    assert "A1234" in body["reply"] and "UPS" in body["reply"]
    assert body["handoff"] is None and body["conversation_id"].startswith("C-")
    assert_marked(response, "normal")


def test_chat_keeps_conversation_context(front: httpx.Client) -> None:
    """A bare order id after an order question is read as an order-status follow-up."""
    first = chat(front, "where is my order?").json()
    follow = chat(front, "it is A1001", conversation_id=first["conversation_id"]).json()
    assert follow["intent"] == "order_status"
    assert "A1001" in follow["reply"]


def test_chat_hands_refund_to_agent_and_angry_customers_jump_the_queue(
    front: httpx.Client,
) -> None:
    """Human-first intents are handed off; a negative customer is queued ahead of calm ones."""
    positions = [
        chat(front, "I would like a refund please").json()["handoff"]["queue_position"]
        for _ in range(4)
    ]
    assert positions == [0, 0, 1, 2]  # two agents take the first two
    angry = chat(front, "This is unacceptable, I am furious!!").json()
    assert angry["sentiment"] == "negative" and angry["intent"] == "complaint"
    assert angry["handoff"]["queue_position"] == 1
    assert angry["handoff"]["estimated_wait_s"] > 0


def test_handoff_offers_callback_when_agents_saturated(front: httpx.Client) -> None:
    """Past the queue limit the handoff offers a callback (degraded) instead of a wait."""
    answers = [
        front.post("/api/handoff", json={"customer_id": f"c{i}", "conversation_id": None})
        for i in range(6)
    ]
    bodies = [a.json() for a in answers]
    assert [b["callback_offered"] for b in bodies] == [False] * 5 + [True]
    assert [b["queue_position"] for b in bodies[:5]] == [0, 0, 1, 2, 3]
    assert_marked(answers[-1], "degraded")
    assert_marked(answers[0], "normal")


def test_handoff_offers_callback_when_agents_down(
    system: RunningSystem, front: httpx.Client
) -> None:
    """With the agents service down the handoff answers at once with a callback offer."""
    system.stop_dependency("agents")
    try:
        started = time.monotonic()
        response = front.post("/api/handoff", json={"customer_id": "c", "priority": "high"})
        assert time.monotonic() - started < 3
        assert response.status_code == 200 and response.json()["callback_offered"] is True
        assert_marked(response, "degraded")
    finally:
        system.start_dependency("agents")


def test_nlu_down_falls_back_to_local_faq_keywords(
    system: RunningSystem, front: httpx.Client
) -> None:
    """With the NLU process stopped chat still answers, by keyword over the local FAQ."""
    system.stop_dependency("nlu")
    try:
        response = chat(front, "how much does express shipping cost")
        assert response.status_code == 200
        assert response.json()["intent"] == "faq_shipping"
        assert "shipping" in response.json()["reply"].lower()
        assert_marked(response, "fallback")
        assert 'helpdesk_fallbacks_total{kind="nlu_keyword"}' in front.get("/metrics").text
    finally:
        system.start_dependency("nlu")
    wait_for(lambda: chat(front, "hello").json()["mode"] == "normal", timeout_s=8)


def test_orders_fail_over_to_replica_and_back(system: RunningSystem, front: httpx.Client) -> None:
    """Primary down: reads come from the replica; primary back: reads return to it, logged."""
    assert front.get("/api/orders/A1500").json()["served_by"] == "primary"
    system.stop_dependency("orders_primary")
    try:
        down_at = time.time()
        response = front.get("/api/orders/A1500")
        assert response.status_code == 200
        assert response.json()["served_by"] == "replica"
        assert response.json()["status"] == "processing"
        assert_marked(response, "fallback")
        for _ in range(3):
            front.get("/api/orders/A1500")
    finally:
        system.start_dependency("orders_primary")
    up_at = time.time()
    wait_for(lambda: front.get("/api/orders/A1500").json()["served_by"] == "primary", 8)
    failover = events_of(system, "failover", dependency="orders", to="replica")[-1]
    failback = events_of(system, "failback", dependency="orders", to="primary")[-1]
    opened = events_of(system, "breaker_state", dependency="orders_primary", to="open")
    assert down_at <= failover["ts"] <= up_at <= failback["ts"]
    assert opened and opened[-1]["from"] == "closed"
    metrics = front.get("/metrics").text
    assert 'helpdesk_failovers_total{to="replica"}' in metrics


def test_unknown_order_is_404(front: httpx.Client) -> None:
    """An unknown order id answers 404 with an error sentence."""
    response = front.get("/api/orders/B9999")
    assert response.status_code == 404
    assert "does not exist" in response.json()["error"]


def test_tickets_survive_a_crashed_store_through_the_outbox(
    system: RunningSystem, front: httpx.Client
) -> None:
    """Store killed: tickets are queued (201, degraded), readable, and all replayed later."""
    stored = front.post(
        "/api/tickets",
        json={"customer_id": "c", "kind": "return", "order_id": "A1001", "text": "x"},
    )
    assert stored.status_code == 201 and stored.json()["status"] == "stored"
    assert_marked(stored, "normal")
    system.kill_dependency("tickets")
    try:
        queued = [
            front.post("/api/tickets", json={"customer_id": "c", "kind": "refund", "text": f"t{i}"})
            for i in range(5)
        ]
        assert {q.status_code for q in queued} == {201}
        assert {q.json()["status"] for q in queued} == {"queued"}
        assert_marked(queued[0], "degraded")
        ids = [q.json()["ticket_id"] for q in queued]
        peek = front.get(f"/api/tickets/{ids[0]}")
        assert peek.status_code == 200 and peek.json()["status"] == "queued"
        assert "helpdesk_outbox_depth 5.0" in front.get("/metrics").text
    finally:
        system.start_dependency("tickets")
    wait_for(lambda: len(events_of(system, "outbox_replayed")) >= 5, timeout_s=10)
    for ticket_id in [stored.json()["ticket_id"], *ids]:
        ticket = front.get(f"/api/tickets/{ticket_id}")
        assert ticket.status_code == 200 and ticket.json()["status"] == "stored", ticket_id
        assert_marked(ticket, "normal")
    enqueued = {e["ticket_id"] for e in events_of(system, "outbox_enqueued")}
    assert set(ids) <= enqueued
    assert "helpdesk_outbox_depth 0.0" in front.get("/metrics").text


def test_unknown_ticket_is_404(front: httpx.Client) -> None:
    """An unknown ticket id answers 404."""
    assert front.get("/api/tickets/T-nope").status_code == 404


def test_overload_sheds_recommendations_but_not_core(front: httpx.Client) -> None:
    """A burst trips shedding: recommendations get 429 + Retry-After, core paths answer 200."""
    time.sleep(1.1)  # let the one-second arrival window empty
    assert front.get("/api/recommendations", params={"customer_id": "c"}).status_code == 200

    def hit(i: int) -> httpx.Response:
        if i % 3 == 0:
            return front.get("/api/orders/A1200")
        if i % 3 == 1:
            return chat(front, "what payment methods do you take")
        return front.get("/api/recommendations", params={"customer_id": f"c{i}"})

    with ThreadPoolExecutor(max_workers=16) as pool:
        responses = list(pool.map(hit, range(60)))
    recos = responses[2::3]
    core = [r for i, r in enumerate(responses) if i % 3 != 2]
    shed = [r for r in recos if r.status_code == 429]
    assert shed, "no recommendation request was shed"
    assert all(r.headers["Retry-After"] == "1" for r in shed)
    assert_marked(shed[0], "degraded")
    assert {r.status_code for r in core} == {200}
    assert 'helpdesk_shed_total{endpoint="/api/recommendations"}' in front.get("/metrics").text
    time.sleep(1.1)
    assert front.get("/api/recommendations", params={"customer_id": "c"}).status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "content", "status"),
    [
        ("POST", "/api/chat", b"{not json", 400),
        ("POST", "/api/chat", b"[1, 2]", 400),
        ("POST", "/api/chat", b'{"customer_id": "c", "channel": "web"}', 422),
        ("POST", "/api/chat", b'{"customer_id": 7, "channel": "web", "message": "hi"}', 422),
        ("POST", "/api/chat", b'{"customer_id": "c", "channel": "fax", "message": "hi"}', 422),
        ("POST", "/api/tickets", b'{"customer_id": "c", "kind": "praise", "text": "x"}', 422),
        ("POST", "/api/handoff", b'{"customer_id": "c", "priority": "urgent"}', 422),
        ("POST", "/api/chat", b'{"message": "' + b"x" * 70_000 + b'"}', 413),
        ("GET", "/api/recommendations", b"", 400),
        ("GET", "/api/nothing-here", b"", 404),
        ("DELETE", "/api/chat", b"", 405),
    ],
)
def test_bad_input_is_a_clean_4xx(
    front: httpx.Client, method: str, path: str, content: bytes, status: int
) -> None:
    """Malformed, incomplete, wrong or oversized input answers a 4xx JSON error sentence."""
    response = front.request(method, path, content=content)
    assert response.status_code == status
    assert response.json()["error"].endswith(".")
    assert response.headers["X-Helpdesk-Mode"] == "normal"


def test_metrics_expose_breakers_and_counters(front: httpx.Client) -> None:
    """/metrics has breaker state per dependency and the request counter."""
    text = front.get("/metrics").text
    for dep in ("nlu", "kb", "orders_primary", "orders_replica", "tickets", "agents"):
        assert f'helpdesk_breaker_state{{dependency="{dep}"}}' in text
    assert "helpdesk_requests_total" in text and "helpdesk_inflight_requests" in text
