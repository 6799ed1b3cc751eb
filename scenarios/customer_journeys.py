"""Peak customer traffic for an online customer-service system (the reference `helpdesk`).

A plain locustfile: `locust -f scenarios/customer_journeys.py --host http://127.0.0.1:8080`
runs it with Locust's own web UI; drills run it through the harness.

The mix follows what customers ask most during a peak (see shared domain notes):
order and logistics status first, then FAQ chat with the bot, returns and refunds
(tickets, read back once), complaints handed to a human, and a little
non-core traffic (recommendations) that the system may shed. Each user has a
channel (web, app, social) sent as the X-Channel header.

Request names (the harness's endpoints): orders, chat, tickets:create,
tickets:read, handoff, recommendations.
"""

from __future__ import annotations

import random

from locust import FastHttpUser, between, task

FAQ_QUESTIONS = [
    "how long does shipping take",
    "which payment methods do you accept",
    "can I pay with a gift card",
    "do you ship abroad",
    "hello there",
]
COMPLAINTS = [
    "this is terrible, my parcel arrived broken and nobody answers",
    "I want to complain about the courier, this is unacceptable",
]
RETURN_REASONS = ["wrong size", "arrived damaged", "changed my mind"]


class Customer(FastHttpUser):
    """One customer on one channel; abstract: the channel subclasses below are spawned."""

    abstract = True
    channel = "web"
    wait_time = between(0.5, 1.5)
    network_timeout = 10.0
    connection_timeout = 5.0

    def on_start(self) -> None:
        self.customer_id = f"C{random.randint(1, 99_999):05d}"
        self.order_id = f"A{random.randint(1000, 1999)}"
        self.headers = {"X-Channel": self.channel}

    @task(10)
    def where_is_my_order(self) -> None:
        self.client.get(f"/api/orders/{self.order_id}", name="orders", headers=self.headers)

    @task(6)
    def faq_chat(self) -> None:
        self._chat(random.choice(FAQ_QUESTIONS))

    @task(3)
    def return_or_refund(self) -> None:
        kind = random.choice(["return", "refund"])
        with self.client.post(
            "/api/tickets",
            name="tickets:create",
            headers=self.headers,
            json={
                "customer_id": self.customer_id,
                "kind": kind,
                "order_id": self.order_id,
                "text": f"{kind}: {random.choice(RETURN_REASONS)}",
            },
            catch_response=True,
        ) as response:
            ticket_id = (response.json() or {}).get("ticket_id") if response.ok else None
            if response.ok and not ticket_id:
                response.failure("ticket created without a ticket_id")
        if ticket_id:
            self.client.get(f"/api/tickets/{ticket_id}", name="tickets:read", headers=self.headers)

    @task(1)
    def complaint_to_human(self) -> None:
        self._chat(random.choice(COMPLAINTS))
        self.client.post(
            "/api/handoff",
            name="handoff",
            headers=self.headers,
            json={"customer_id": self.customer_id, "conversation_id": None, "priority": "high"},
        )

    @task(2)
    def recommendations(self) -> None:
        self.client.get(
            f"/api/recommendations?customer_id={self.customer_id}",
            name="recommendations",
            headers=self.headers,
        )


    def _chat(self, message: str) -> None:
        self.client.post(
            "/api/chat",
            name="chat",
            headers=self.headers,
            json={
                "customer_id": self.customer_id,
                "channel": self.channel,
                "message": message,
                "conversation_id": None,
            },
        )


class WebCustomer(Customer):
    channel = "web"
    weight = 5


class AppCustomer(Customer):
    channel = "app"
    weight = 4


class SocialCustomer(Customer):
    channel = "social"
    weight = 1
