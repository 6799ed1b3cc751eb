"""Deterministic seed data shared by the KB, the order stores and the front's local FAQ copy."""

from __future__ import annotations

import datetime as _dt
import functools
import hashlib
import heapq

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

# The KB's help-centre articles: a real knowledge base answers with the whole article
# (a few KB), not just the short answer above. ``kb_article`` builds one per intent,
# deterministically, from its title, the short answer, the intent's own sections and
# the sections every article carries; the KB sends it with the answer (see
# dependencies.kb_app), so a squeezed KB link makes every answer slow. The front's
# local FAQ copy keeps only the short answers.
ARTICLE_MIN_BYTES = 4500

ARTICLE_TITLES: dict[str, str] = {
    "order_status": "Tracking your order",
    "return": "Returning an item",
    "refund": "Refunds: when and how you get your money back",
    "complaint": "Something went wrong: how we handle complaints",
    "faq_shipping": "Shipping times, options and costs",
    "faq_payment": "Payment methods and when you are charged",
    "greeting": "Welcome to the help centre",
    "unknown": "Help centre topics",
}

ARTICLE_SECTIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "order_status": (
        (
            "Where to find your order",
            "Open Orders in your account or in the app. Every order "
            "shows its status (processing, shipped, in transit, out for delivery, delivered), the "
            "carrier and the expected delivery date. Orders are numbered A1000 upwards.",
        ),
        (
            "Tracking with the carrier",
            "Once an order ships we e-mail the carrier's tracking "
            "link. DHL, UPS and PostNL update their tracking a few hours after pick-up, so a new "
            "shipment may show no scans yet. The expected date is the carrier's estimate.",
        ),
        (
            "When an order is late",
            "If the expected date has passed by two business days, "
            "contact us with the order number: we open an investigation with the carrier and "
            "send a replacement or a refund once it is confirmed lost.",
        ),
    ),
    "return": (
        (
            "Who can return",
            "Any item can be returned within 30 days of delivery, unworn and "
            "in its original packaging. Hygiene products, gift cards and personalised items "
            "cannot be returned unless they arrived damaged or wrong.",
        ),
        (
            "How to return",
            "Open Orders, pick the item and choose Return. Tell us why (wrong "
            "size, arrived damaged, changed my mind); we e-mail a prepaid label within minutes. "
            "Print it, stick it on the parcel and drop it at any carrier point.",
        ),
        (
            "After the return",
            "The warehouse checks returns within 3 business days of "
            "arrival. You get an e-mail when the return is accepted and the refund starts; "
            "exchanges ship as soon as the return is scanned.",
        ),
    ),
    "refund": (
        (
            "When refunds start",
            "A refund starts when the warehouse accepts the returned "
            "item, or at once when we confirm that a parcel was lost. Cancelled orders that "
            "had not shipped are refunded the same day.",
        ),
        (
            "Where the money goes",
            "Refunds go back to the original payment method: cards "
            "within 5 business days, PayPal within 2, bank transfers within 5. Gift card "
            "payments are refunded as a new gift card.",
        ),
        (
            "Reviewed refunds",
            "Refunds above 200 EUR, and refunds for items reported damaged, "
            "are reviewed by a colleague before they start; the review takes at most one "
            "business day and you are told the outcome by e-mail.",
        ),
    ),
    "complaint": (
        (
            "What happens now",
            "A colleague from customer care reads the whole conversation "
            "and takes over. Urgent cases (a broken or dangerous item, a missing high-value "
            "parcel) are handled first.",
        ),
        (
            "What helps us help you",
            "The order number, photos of any damage and the date "
            "it arrived. If a courier was involved, the time and place of the delivery "
            "attempt helps us raise it with the carrier.",
        ),
        (
            "How we put it right",
            "Depending on the case we send a replacement, refund the "
            "item or the shipping costs, or offer a voucher. If you are not happy with the "
            "outcome you can ask for a review by a team lead.",
        ),
    ),
    "faq_shipping": (
        (
            "Options",
            "Standard shipping takes 2-4 business days, express ships the next "
            "business day when ordered before 17:00. Pick-up points are available in most "
            "cities at the standard price.",
        ),
        (
            "Costs",
            "Shipping is free above 50 EUR; below that standard costs 4.95 EUR and "
            "express 9.95 EUR. Returns are free for every order.",
        ),
        (
            "Abroad",
            "We ship to every EU country and to the UK, Norway and Switzerland. "
            "International parcels take 4-8 business days; duties for non-EU countries are "
            "shown at checkout and paid in advance.",
        ),
    ),
    "faq_payment": (
        (
            "Methods",
            "We accept Visa, Mastercard and American Express, PayPal, bank transfer "
            "and our own gift cards. Several gift cards can be combined with one other "
            "method.",
        ),
        (
            "When you are charged",
            "Cards and PayPal are authorised at checkout and charged "
            "when the order ships; a split order is charged per shipment. Bank transfers must "
            "arrive within 7 days or the order is cancelled.",
        ),
        (
            "Failed payments",
            "If a payment fails we keep the order for 48 hours and e-mail "
            "a link to pay another way. Your bank may show a pending authorisation for a few "
            "days; it disappears without being charged.",
        ),
    ),
    "greeting": (
        (
            "What I can help with",
            "Order status and tracking, returns and exchanges, "
            "refunds, shipping and payment questions. For anything else, or when you prefer "
            "a person, ask for a colleague.",
        ),
        (
            "Quick tips",
            "Send your order number (A1234) and I can look it up straight away. "
            "You can come back to this conversation later; it remembers what we talked about.",
        ),
    ),
    "unknown": (
        (
            "Popular topics",
            "Where is my order, how do I return an item, when do I get my "
            "refund, how long does shipping take, which payment methods do you accept.",
        ),
        (
            "Talk to a person",
            "If your question is not listed, ask for a colleague: "
            "customer care answers chats from 8:00 to 22:00 every day.",
        ),
    ),
}

_COMMON_SECTIONS: tuple[tuple[str, str], ...] = (
    (
        "Contact",
        "Customer care is available by chat from 8:00 to 22:00 every day and by "
        "e-mail at any time; we answer e-mails within one business day. Please keep your "
        "order number at hand, it lets us find your order without asking for personal data.",
    ),
    (
        "Your data",
        "We only use the details you share in this conversation to answer your "
        "question. Conversations are kept for 90 days for quality and training and then "
        "deleted; you can ask us to delete them earlier.",
    ),
    (
        "Accessibility",
        "Every page of the help centre works with screen readers and keyboard "
        "navigation. If something is hard to use, tell us: we reply to accessibility feedback "
        "first.",
    ),
)


def kb_article(intent: str) -> dict[str, str]:
    """The KB's article for ``intent`` (unknown intents get ``unknown``'s): title and body.

    Deterministic plain text of at least ``ARTICLE_MIN_BYTES`` bytes: title, short answer,
    the intent's sections, the common sections, then excerpts of the related articles
    (the other intents' sections, in a fixed order) until it is long enough.
    """
    key = intent if intent in ARTICLE_TITLES else "unknown"
    parts = [ARTICLE_TITLES[key], "", FAQ_ANSWERS[key], ""]
    for heading, text in (*ARTICLE_SECTIONS[key], *_COMMON_SECTIONS):
        parts += [f"## {heading}", text, ""]
    parts.append("## Related articles")
    start = INTENTS.index(key)
    others = [INTENTS[(start + i) % len(INTENTS)] for i in range(1, len(INTENTS))]
    related = [
        f"- {ARTICLE_TITLES[other]} / {heading}: {text}"
        for depth in range(3)
        for other in others
        for heading, text in ARTICLE_SECTIONS[other][depth : depth + 1]
    ]
    for line in related:
        if len("\n".join(parts).encode()) >= ARTICLE_MIN_BYTES:
            break
        parts.append(line)
    return {"title": ARTICLE_TITLES[key], "body": "\n".join(parts)}


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


CATALOGUE_SIZE = 36000  # products scored per recommendation call
TASTE_FEATURES = 64  # length of every product's and customer's feature vector


def _features(seed: str) -> tuple[float, ...]:
    """A deterministic feature vector in [-1, 1] for ``seed``."""
    digest = hashlib.sha512(seed.encode()).digest()
    return tuple((b - 127.5) / 127.5 for b in digest[:TASTE_FEATURES])


@functools.cache
def catalogue() -> tuple[tuple[str, tuple[float, ...]], ...]:
    """The product catalogue: (slug, features) per product; built once per process (~0.3 s)."""
    return tuple(
        (f"{RECOMMENDED_ITEMS[i % len(RECOMMENDED_ITEMS)]}-{i:05d}", _features(f"product-{i}"))
        for i in range(CATALOGUE_SIZE)
    )


def recommendations_for(customer_id: str, count: int = 3) -> list[str]:
    """The ``count`` catalogue products that score best for the customer's taste.

    Scores every product of the catalogue against the customer's feature vector, as
    a recommender scores its candidates: ~70 ms of CPU per call on the 2-core CI
    machine, in the front's own process, so a burst of them competes with the core
    requests for the front's CPU and threadpool. That is why recommendations are
    what the front sheds under overload (docs/helpdesk.md, shedding).
    """
    taste = _features(f"customer-{customer_id}")
    scored = (
        (sum(t * f for t, f in zip(taste, features, strict=True)), slug)
        for slug, features in catalogue()
    )
    return [slug for _score, slug in heapq.nlargest(count, scored)]
