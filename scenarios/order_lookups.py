"""Customers asking "where is my order?" and nothing else (the reference `helpdesk`).

A plain locustfile, like customer_journeys.py but with only its `orders` request, for
drills that time the orders failover precisely: the full journey mix adds chat, ticket
and handoff work to the front, and on a small machine that backlog, not the orders
breaker, then decides when reads are fast again. Request name: orders.
"""

from __future__ import annotations

import random

from locust import FastHttpUser, between, task


class OrderLookup(FastHttpUser):
    """One customer polling the status of one order."""

    wait_time = between(0.5, 1.5)
    network_timeout = 10.0
    connection_timeout = 5.0

    def on_start(self) -> None:
        self.order_id = f"A{random.randint(1000, 1999)}"
        self.headers = {"X-Channel": random.choice(["web", "app", "social"])}

    @task
    def where_is_my_order(self) -> None:
        self.client.get(f"/api/orders/{self.order_id}", name="orders", headers=self.headers)
