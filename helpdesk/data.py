"""Deterministic seed data shared by the KB, the order stores and the front's local FAQ copy."""

from __future__ import annotations

import datetime as _dt

INTENTS = (
    "order_status",
    "return",
    "refund",
    "complaint",
    "faq_shipping",
    "faq_payment",
    "greeting",
    "unknown",
)
HUMAN_FIRST_INTENTS = frozenset({"complaint", "refund"})

FAQ_ANSWERS: dict[str, str] = {
    "order_status": "I can check that for you: please send your order number "
    "(it looks like A1234).",
    "return": "You can return any item within 30 days: open Orders, pick the item and choose "
    "'Return'. We e-mail a prepaid label.",
    "refund": "Refunds go back to the original payment method within 5 business days after "
    "we receive the item. A colleague will review your refund.",
    "complaint": "I am sorry about this. I am passing you to a colleague who can sort it out.",
    "faq_shipping": "Standard shipping takes 2-4 business days; express ships next day. "
    "Shipping is free above 50 EUR.",
    "faq_payment": "We accept cards, PayPal and bank transfer. Payments are charged when the "
    "order ships.",
    "greeting": "Hello! How can I help you today?",
    "unknown": "Sorry, I did not get that. You can ask about orders, returns, refunds, "
    "shipping or payment.",
}

# Keywords for the front's local fallback: a plain word match over the FAQ topics.
FAQ_KEYWORDS: dict[str, tuple[str, ...]] = {
    "order_status": ("order", "where", "track", "tracking", "package", "parcel", "delivery"),
    "return": ("return", "send back"),
    "refund": ("refund", "money back"),
    "complaint": ("complaint", "complain"),
    "faq_shipping": ("shipping", "ship", "express", "courier"),
    "faq_payment": ("payment", "pay", "card", "paypal", "invoice"),
    "greeting": ("hello", "hi", "hey"),
}

ORDER_FIRST, ORDER_LAST = 1000, 1999
_STATUSES = ("processing", "shipped", "in_transit", "out_for_delivery", "delivered")
_CARRIERS = ("DHL", "UPS", "PostNL")
_BASE_DATE = _dt.date(2025, 1, 1)


def order_record(order_id: str) -> dict[str, str] | None:
    """Return the seed record for ``order_id`` (``A1000``..``A1999``), or None if unknown."""
    if len(order_id) != 5 or order_id[0] != "A" or not order_id[1:].isdigit():
        return None
    number = int(order_id[1:])
    if not ORDER_FIRST <= number <= ORDER_LAST:
        return None
    eta = _BASE_DATE + _dt.timedelta(days=number % 28)
    return {
        "order_id": order_id,
        "status": _STATUSES[number % len(_STATUSES)],
        "carrier": _CARRIERS[number % len(_CARRIERS)],
        "eta": eta.isoformat(),
    }


RECOMMENDED_ITEMS = (
    "wireless-earbuds",
    "phone-case",
    "usb-c-charger",
    "smart-watch",
    "travel-mug",
    "desk-lamp",
)


def recommendations_for(customer_id: str, count: int = 3) -> list[str]:
    """Return a deterministic list of product slugs for a customer."""
    start = sum(customer_id.encode()) % len(RECOMMENDED_ITEMS)
    return [RECOMMENDED_ITEMS[(start + i) % len(RECOMMENDED_ITEMS)] for i in range(count)]
