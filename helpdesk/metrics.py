"""Prometheus metrics of the front, on a registry of its own (served at ``GET /metrics``)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

BREAKER_STATE_VALUES = {"closed": 0, "half-open": 1, "open": 2}


class FrontMetrics:
    """Every metric the front exports; one instance per front app."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.breaker_state = Gauge(
            "helpdesk_breaker_state",
            "Circuit breaker state per dependency: 0 closed, 1 half-open, 2 open.",
            ["dependency"],
            registry=r,
        )
        self.fallbacks = Counter(
            "helpdesk_fallbacks_total",
            "Responses served by a fallback, by kind.",
            ["kind"],
            registry=r,
        )
        self.outbox_depth = Gauge(
            "helpdesk_outbox_depth", "Tickets waiting in the local outbox.", registry=r
        )
        self.shed = Counter(
            "helpdesk_shed_total", "Requests shed with 429, by endpoint.", ["endpoint"], registry=r
        )
        self.failovers = Counter(
            "helpdesk_failovers_total",
            "Switches of order reads between primary and replica, by target.",
            ["to"],
            registry=r,
        )
        self.requests = Counter(
            "helpdesk_requests_total",
            "Front requests by endpoint, status code and mode.",
            ["endpoint", "status", "mode"],
            registry=r,
        )
        self.inflight = Gauge("helpdesk_inflight_requests", "Front requests in flight.", registry=r)
