"""Unit tests of the pure helpdesk modules: classifier, outbox, agent queue, config."""

from __future__ import annotations

from pathlib import Path

import pytest

import helpdesk
from helpdesk.agents_queue import AgentQueue
from helpdesk.classifier import classify, find_order_id, keyword_intent
from helpdesk.config import FrontSettings, Mechanism, parse_mechanisms
from helpdesk.data import INTENTS, order_record
from helpdesk.errors import ConfigError
from helpdesk.outbox import Outbox


@pytest.mark.parametrize(
    ("text", "intent", "sentiment"),
    [
        ("Where is my order A1234?", "order_status", "neutral"),
        ("I want to return these shoes", "return", "neutral"),
        ("Please refund my money", "refund", "neutral"),
        ("This is unacceptable, I am furious!!", "complaint", "negative"),
        ("How long does shipping take?", "faq_shipping", "neutral"),
        ("Can I pay with PayPal?", "faq_payment", "neutral"),
        ("Hello there, thanks!", "greeting", "positive"),
        ("blorp", "unknown", "neutral"),
    ],
)
def test_classify_is_deterministic_per_rule(text: str, intent: str, sentiment: str) -> None:
    """Each intent and sentiment is recognised by its keywords."""
    result = classify(text)
    assert (result.intent, result.sentiment) == (intent, sentiment)
    assert result.intent in INTENTS


def test_keyword_fallback_matches_faq_topics() -> None:
    """The local fallback picks the FAQ topic with the most keyword hits."""
    assert keyword_intent("express shipping courier") == "faq_shipping"
    assert keyword_intent("pay by card") == "faq_payment"
    assert keyword_intent("A1234") == "order_status"
    assert keyword_intent("zzz") == "unknown"
    assert find_order_id("order A1999 please") == "A1999"


def test_order_seed_covers_a1000_to_a1999_only() -> None:
    """Seed orders exist for A1000..A1999 and nowhere else."""
    assert order_record("A1000") and order_record("A1999")
    assert order_record("A0999") is None and order_record("A2000") is None
    assert order_record("B1000") is None and order_record("A12") is None


def test_outbox_is_durable_fifo_and_idempotent(tmp_path: Path) -> None:
    """Queued tickets survive reopening, come out oldest first, and a repeat id is ignored."""
    box = Outbox(tmp_path / "o.db")
    box.put("T-1", {"n": 1})
    box.put("T-2", {"n": 2})
    box.put("T-1", {"n": 99})
    box.close()
    box = Outbox(tmp_path / "o.db")
    assert box.pending() == [("T-1", {"n": 1}), ("T-2", {"n": 2})]
    box.remove("T-1")
    assert box.depth() == 1 and box.get("T-1") is None and box.get("T-2") == {"n": 2}
    box.close()
    box.close()


def test_agent_queue_positions_priority_and_limits() -> None:
    """Free agents take customers at once; high priority waits ahead; limits refuse."""
    now = [0.0]
    queue = AgentQueue(agents=2, handle_s=10, clock=lambda: now[0])
    assert queue.enqueue("a", False, 5, 100).queue_position == 0
    assert queue.enqueue("b", False, 5, 100).queue_position == 0
    assert queue.enqueue("c", False, 5, 100).queue_position == 1
    high = queue.enqueue("d", True, 5, 100)
    assert (high.queue_position, high.estimated_wait_s) == (1, 10.0)
    assert queue.enqueue("e", False, 2, 100).accepted is False
    now[0] = 10.0  # both agents finish; d and c move to agents
    assert queue.waiting() == 0


def test_parse_mechanisms_names_valid_choices() -> None:
    """Mechanism lists parse by name, and an unknown name lists the valid ones."""
    assert parse_mechanisms("failover, outbox") == {Mechanism.FAILOVER, Mechanism.OUTBOX}
    assert parse_mechanisms("") == frozenset()
    with pytest.raises(ConfigError, match="valid: breaker, fallback"):
        parse_mechanisms("nope")


def test_front_settings_round_trip_through_env() -> None:
    """Settings written to the environment read back equal; bad numbers are one sentence."""
    settings = FrontSettings(timeout_s=0.7, shed_inflight=5)
    assert FrontSettings.from_env(settings.to_env()) == settings
    with pytest.raises(ConfigError, match="HELPDESK_TIMEOUT_S"):
        FrontSettings.from_env({"HELPDESK_TIMEOUT_S": "fast"})


def test_all_matches_public_namespace() -> None:
    """__all__ lists exactly the public names of the helpdesk package (some imported lazily)."""
    public = {n for n in vars(helpdesk) if not n.startswith("_")} | set(helpdesk._LAZY)
    modules = {n for n in public if type(getattr(helpdesk, n)).__name__ == "module"}
    assert set(helpdesk.__all__) == public - modules
