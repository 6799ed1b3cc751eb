"""The front's business logic, synchronous (it runs in the ASGI thread pool).

Each method returns a plain payload plus the mode it was served in; the HTTP layer in
:mod:`helpdesk.front` turns that into responses with the ``X-Helpdesk-Mode`` marker.
"""

from __future__ import annotations

import enum
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from helpdesk import classifier, data
from helpdesk.config import FrontConfig, Mechanism
from helpdesk.events import EventLog
from helpdesk.metrics import FrontMetrics
from helpdesk.outbox import Outbox
from helpdesk.resilience import DependencyClient, DependencyFailed, NotFound


class Mode(enum.IntEnum):
    """How a response was served; a response's mode is the worst of its parts."""

    NORMAL = 0
    FALLBACK = 1
    DEGRADED = 2

    @property
    def label(self) -> str:
        """The marker value: normal, fallback or degraded."""
        return self.name.lower()


class Unavailable(Exception):
    """A needed dependency failed and no mechanism could cover for it (HTTP 503)."""


class UnknownItem(Exception):
    """The caller asked for an order or ticket that does not exist (HTTP 404)."""


@dataclass
class Result:
    """A payload and the mode it was served in."""

    payload: dict[str, Any]
    mode: Mode = Mode.NORMAL


class Helpdesk:
    """Chat, orders, tickets and handoff on top of the six dependencies."""

    def __init__(self, config: FrontConfig, metrics: FrontMetrics, events: EventLog) -> None:
        self.config = config
        self.settings = config.settings
        self.metrics = metrics
        self.events = events
        self.clients = {
            name: DependencyClient(
                name,
                url,
                config.settings,
                timeouts=config.enabled(Mechanism.TIMEOUTS),
                breaker=config.enabled(Mechanism.BREAKER),
                metrics=metrics,
                events=events,
            )
            for name, url in config.dependency_urls.items()
        }
        self.outbox = (
            Outbox(config.state_dir / "outbox.db") if config.enabled(Mechanism.OUTBOX) else None
        )
        self._orders_lock = threading.Lock()
        self._orders_served_by = "primary"
        self._conversations: OrderedDict[str, str] = OrderedDict()
        self._conv_lock = threading.Lock()
        self._stop = threading.Event()
        self._replayer: threading.Thread | None = None

    # ---- lifecycle -------------------------------------------------------------------
    def start(self) -> None:
        """Start the outbox replayer (if the outbox is on)."""
        if self.outbox is not None:
            self.metrics.outbox_depth.set(self.outbox.depth())
            self._replayer = threading.Thread(
                target=self._replay_loop, name="outbox-replayer", daemon=True
            )
            self._replayer.start()

    def close(self) -> None:
        """Stop the replayer and close clients and the outbox; safe to call twice."""
        self._stop.set()
        if self._replayer is not None:
            self._replayer.join(timeout=5)
        for client in self.clients.values():
            client.close()
        if self.outbox is not None:
            self.outbox.close()
            self.outbox = None

    # ---- orders ----------------------------------------------------------------------
    def _note_served(self, served_by: str) -> None:
        with self._orders_lock:
            if served_by == self._orders_served_by:
                return
            if served_by == "primary" and not self.config.enabled(Mechanism.FAILBACK):
                return  # a primary read that began before the failover: the front stays put
            self._orders_served_by = served_by
            event = "failover" if served_by == "replica" else "failback"
            self.events.write(event, dependency="orders", to=served_by)
        self.metrics.failovers.labels(served_by).inc()

    def _read_replica(self, order_id: str) -> dict[str, Any] | None:
        try:
            record = self._read_order("replica", order_id)
        except DependencyFailed as exc:
            raise Unavailable(
                "The order system and its replica are unavailable; try again later."
            ) from exc
        self.metrics.fallbacks.labels("replica").inc()
        return record

    def _read_order(self, store: str, order_id: str) -> dict[str, Any] | None:
        try:
            return self.clients[f"orders_{store}"].read(f"/orders/{order_id}")
        except NotFound:
            return None

    def order(self, order_id: str) -> Result:
        """Read an order from the primary, or from the replica when the primary fails.

        Every read tries the primary first (its breaker decides how often while it is
        down), so reads return to it once it answers again; without ``failback`` a front
        that has moved to the replica stays there.
        """
        served_by, mode = "primary", Mode.NORMAL
        if self._orders_served_by == "replica" and not self.config.enabled(Mechanism.FAILBACK):
            served_by, mode = "replica", Mode.FALLBACK
            record = self._read_replica(order_id)
        else:
            try:
                record = self._read_order("primary", order_id)
            except DependencyFailed as exc:
                if not self.config.enabled(Mechanism.FAILOVER):
                    raise Unavailable("The order system is unavailable; try again later.") from exc
                served_by, mode = "replica", Mode.FALLBACK
                record = self._read_replica(order_id)
        self._note_served(served_by)
        if record is None:
            raise UnknownItem(f"Order {order_id!r} does not exist.")
        payload = {k: record[k] for k in ("order_id", "status", "carrier", "eta")}
        payload["served_by"] = served_by
        return Result(payload, mode)

    # ---- handoff ---------------------------------------------------------------------
    def handoff(self, customer_id: str, conversation_id: str | None, high: bool) -> Result:
        """Queue for a human agent, or offer a callback when agents are saturated or down."""
        body = {
            "customer_id": customer_id,
            "conversation_id": conversation_id,
            "priority": "high" if high else "normal",
            "max_position": self.settings.handoff_max_position,
            "max_wait_s": self.settings.handoff_max_wait_s,
        }
        try:
            answer = self.clients["agents"].write("POST", "/queue", body)
        except DependencyFailed:
            self.metrics.fallbacks.labels("callback").inc()
            payload = {"queue_position": 0, "estimated_wait_s": 0.0, "callback_offered": True}
            return Result(payload, Mode.DEGRADED)
        payload = {
            "queue_position": int(answer["queue_position"]),
            "estimated_wait_s": float(answer["estimated_wait_s"]),
            "callback_offered": not answer["accepted"],
        }
        if not answer["accepted"]:
            self.metrics.fallbacks.labels("callback").inc()
            return Result(payload, Mode.DEGRADED)
        return Result(payload)

    # ---- chat ------------------------------------------------------------------------
    def _classify(self, message: str) -> tuple[str, str, Mode]:
        try:
            answer = self.clients["nlu"].read_once(
                "/classify", method="POST", body={"text": message}
            )
            return str(answer["intent"]), str(answer["sentiment"]), Mode.NORMAL
        except DependencyFailed as exc:
            if not self.config.enabled(Mechanism.FALLBACK):
                raise Unavailable("The assistant cannot understand messages right now.") from exc
        self.metrics.fallbacks.labels("nlu_keyword").inc()
        intent = classifier.keyword_intent(message)
        return intent, classifier.sentiment_of(message), Mode.FALLBACK

    def _answer(self, intent: str) -> tuple[str, Mode]:
        try:
            return str(self.clients["kb"].read_once(f"/answers/{intent}")["answer"]), Mode.NORMAL
        except (DependencyFailed, NotFound) as exc:
            if not self.config.enabled(Mechanism.FALLBACK):
                raise Unavailable("The knowledge base is unavailable; try again later.") from exc
        self.metrics.fallbacks.labels("kb_local").inc()
        return data.FAQ_ANSWERS.get(intent, data.FAQ_ANSWERS["unknown"]), Mode.FALLBACK

    def _order_reply(self, order_id: str) -> tuple[str, Mode]:
        try:
            result = self.order(order_id)
        except UnknownItem:
            return f"I could not find order {order_id}; please check the number.", Mode.NORMAL
        except Unavailable:
            return (
                "I cannot reach the order system right now; please try again soon.",
                Mode.DEGRADED,
            )
        o = result.payload
        text = f"Order {order_id} is {o['status'].replace('_', ' ')} with {o['carrier']}"
        return f"{text}, expected {o['eta']}.", result.mode

    def _remember(self, conversation_id: str, intent: str) -> str | None:
        """Store the conversation's latest intent; return the previous one."""
        with self._conv_lock:
            previous = self._conversations.pop(conversation_id, None)
            self._conversations[conversation_id] = intent
            while len(self._conversations) > 10_000:
                self._conversations.popitem(last=False)
        return previous

    def chat(self, customer_id: str, message: str, conversation_id: str | None) -> Result:
        """Classify, answer from the KB (or local FAQ), look up orders, hand off if needed."""
        conversation_id = conversation_id or f"C-{uuid.uuid4().hex[:16]}"
        intent, sentiment, mode = self._classify(message)
        order_id = classifier.find_order_id(message)
        previous = self._remember(conversation_id, intent)
        if intent == "unknown" and order_id and previous == "order_status":
            intent = "order_status"
        if intent == "order_status" and order_id:
            reply, reply_mode = self._order_reply(order_id)
        else:
            reply, reply_mode = self._answer(intent)
        mode = max(mode, reply_mode)
        handoff = None
        if intent in data.HUMAN_FIRST_INTENTS or sentiment == "negative":
            h = self.handoff(customer_id, conversation_id, high=sentiment == "negative")
            handoff, mode = h.payload, max(mode, h.mode)
        payload = {
            "conversation_id": conversation_id,
            "reply": reply,
            "intent": intent,
            "sentiment": sentiment,
            "handoff": handoff,
        }
        return Result(payload, mode)

    # ---- tickets ---------------------------------------------------------------------
    def create_ticket(self, ticket: dict[str, Any]) -> Result:
        """Store a ticket, or queue it durably in the outbox when the store fails."""
        ticket_id = f"T-{uuid.uuid4().hex[:16]}"
        body = {"ticket_id": ticket_id, **ticket}
        try:
            self.clients["tickets"].write("POST", "/tickets", body)
            return Result({"ticket_id": ticket_id, "status": "stored"})
        except DependencyFailed as exc:
            if self.outbox is None:
                raise Unavailable("The ticket store is unavailable; try again later.") from exc
        self.outbox.put(ticket_id, body)
        self.events.write("outbox_enqueued", ticket_id=ticket_id)
        self.metrics.fallbacks.labels("outbox").inc()
        self.metrics.outbox_depth.set(self.outbox.depth())
        return Result({"ticket_id": ticket_id, "status": "queued"}, Mode.DEGRADED)

    def ticket(self, ticket_id: str) -> Result:
        """Read a ticket: queued ones from the outbox, stored ones from the store."""
        outbox = self.outbox
        queued = outbox.get(ticket_id) if outbox is not None else None
        if queued is not None:
            return Result({**queued, "status": "queued"}, Mode.DEGRADED)
        try:
            stored = self.clients["tickets"].read(f"/tickets/{ticket_id}")
        except NotFound:
            raise UnknownItem(f"Ticket {ticket_id!r} does not exist.") from None
        except DependencyFailed as exc:
            raise Unavailable("The ticket store is unavailable; try again later.") from exc
        return Result({**stored, "status": "stored"})

    def replay_outbox(self) -> int:
        """Send queued tickets to the store, oldest first; stop at the first failure."""
        outbox = self.outbox
        if outbox is None:
            return 0
        replayed = 0
        for ticket_id, body in outbox.pending():
            try:
                self.clients["tickets"].write("POST", "/tickets", body)
            except DependencyFailed:
                break
            outbox.remove(ticket_id)
            self.events.write("outbox_replayed", ticket_id=ticket_id)
            replayed += 1
        self.metrics.outbox_depth.set(outbox.depth())
        return replayed

    def _replay_loop(self) -> None:
        while not self._stop.wait(self.settings.outbox_replay_interval_s):
            try:
                self.replay_outbox()
            except Exception:  # noqa: BLE001 - the replayer must outlive any single failure
                continue
