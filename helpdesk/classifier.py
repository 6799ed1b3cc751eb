"""Deterministic intent and sentiment classification (the NLU) and the local keyword fallback.

Pure functions, no I/O: the ``nlu`` process serves :func:`classify`; the front uses
:func:`keyword_intent` over its local FAQ copy when the NLU is slow or down.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from helpdesk.data import FAQ_KEYWORDS

ORDER_ID_RE = re.compile(r"\bA\d{4}\b")

# Ordered: the first rule that matches wins, so stronger signals come first.
_INTENT_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("complaint", re.compile(r"\b(complain\w*|unacceptable|terrible|worst|rude|disgust\w*)\b")),
    ("refund", re.compile(r"\b(refund\w*|money back|reimburs\w*|chargeback)\b")),
    ("return", re.compile(r"\b(return\w*|send (it )?back|exchange)\b")),
    (
        "order_status",
        re.compile(
            r"\b(where is my|track\w*|order status|my order|package|parcel|deliver\w*)\b"
            r"|\ba\d{4}\b"
        ),
    ),
    ("faq_shipping", re.compile(r"\b(shipping|ship|express|courier|postage)\b")),
    ("faq_payment", re.compile(r"\b(pay\w*|card|paypal|invoice|bank transfer)\b")),
    ("greeting", re.compile(r"^\s*(hi|hello|hey|good (morning|afternoon|evening))\b")),
)

_NEGATIVE = re.compile(
    r"\b(angry|furious|terrible|awful|worst|hate|unacceptable|ridiculous|useless|"
    r"disgust\w*|rude|never again|scam|broken|late)\b|!{2,}"
)
_POSITIVE = re.compile(r"\b(thanks?|thank you|great|love|awesome|perfect|excellent|happy)\b")


@dataclass(frozen=True)
class Classification:
    """The intent and sentiment of one customer message."""

    intent: str
    sentiment: str  # negative | neutral | positive


def classify(text: str) -> Classification:
    """Classify a message by ordered keyword rules; sentiment by word lists."""
    lowered = text.lower()
    intent = next((name for name, rule in _INTENT_RULES if rule.search(lowered)), "unknown")
    return Classification(intent=intent, sentiment=sentiment_of(lowered))


def sentiment_of(text: str) -> str:
    """Return negative, positive or neutral; negative wins over positive."""
    lowered = text.lower()
    if _NEGATIVE.search(lowered):
        return "negative"
    if _POSITIVE.search(lowered):
        return "positive"
    return "neutral"


def keyword_intent(text: str) -> str:
    """Pick the FAQ topic whose keywords occur most often in ``text`` (fallback path)."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    joined = " ".join(words)
    best, best_hits = "unknown", 0
    for intent, keywords in FAQ_KEYWORDS.items():
        hits = sum(1 for kw in keywords if (" " in kw and kw in joined) or kw in words)
        if hits > best_hits:
            best, best_hits = intent, hits
    if best == "unknown" and ORDER_ID_RE.search(text):
        return "order_status"
    return best


def find_order_id(text: str) -> str | None:
    """Return the first order id (``A`` + 4 digits) mentioned in ``text``."""
    match = ORDER_ID_RE.search(text)
    return match.group(0) if match else None
