"""The KB's articles (a few KB per answer) and the front's whole-call deadline on them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from helpdesk.config import FrontSettings
from helpdesk.data import ARTICLE_MIN_BYTES, ARTICLE_TITLES, FAQ_ANSWERS, INTENTS, kb_article
from helpdesk.events import EventLog
from helpdesk.metrics import FrontMetrics
from helpdesk.resilience import DependencyClient, DependencyFailed


@pytest.mark.parametrize("intent", INTENTS)
def test_every_intent_has_a_deterministic_article_of_a_few_kb(intent: str) -> None:
    """Title, short answer and body are fixed per intent; the body is ≥ ARTICLE_MIN_BYTES."""
    article = kb_article(intent)
    assert article == kb_article(intent)
    assert article["title"] == ARTICLE_TITLES[intent]
    body = article["body"]
    assert body.startswith(ARTICLE_TITLES[intent]) and FAQ_ANSWERS[intent] in body
    assert ARTICLE_MIN_BYTES <= len(body.encode()) < 2 * ARTICLE_MIN_BYTES
    lines = [line for line in body.splitlines() if line]
    assert len(set(lines)) == len(lines)  # no paragraph repeated to pad it out


def test_unknown_intent_gets_the_unknown_article() -> None:
    """An intent the KB does not know is answered with the general topics article."""
    assert kb_article("no-such-intent") == kb_article("unknown")


class _Trickle(httpx.SyncByteStream):
    """A body delivered in ``pieces`` pieces, one every ``every_s`` seconds."""

    def __init__(self, body: bytes, pieces: int, every_s: float) -> None:
        self.body, self.pieces, self.every_s = body, pieces, every_s

    def __iter__(self) -> Iterator[bytes]:
        size = -(-len(self.body) // self.pieces)
        for start in range(0, len(self.body), size):
            time.sleep(self.every_s)
            yield self.body[start : start + size]


def _client(tmp_path: Path, body: bytes, pieces: int, every_s: float) -> DependencyClient:
    client = DependencyClient(
        "kb",
        "http://kb.test",
        FrontSettings(timeout_s=0.3),
        timeouts=True,
        breaker=False,
        metrics=FrontMetrics(),
        events=EventLog(tmp_path / "events.jsonl"),
    )

    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "application/json", "content-length": str(len(body))}
        return httpx.Response(200, headers=headers, stream=_Trickle(body, pieces, every_s))

    client._http = httpx.Client(base_url="http://kb.test", transport=httpx.MockTransport(handler))
    return client


def test_an_answer_still_trickling_in_at_the_deadline_is_cut_off(tmp_path: Path) -> None:
    """Each piece arrives well within the per-read timeout, but the whole answer does not."""
    body = b'{"answer": "' + b"x" * 2000 + b'"}'
    client = _client(tmp_path, body, pieces=20, every_s=0.05)  # ~1 s in all, deadline 0.3 s
    started = time.monotonic()
    with pytest.raises(DependencyFailed, match="still arriving after 0.3 s"):
        client.read_once("/answers/greeting")
    assert time.monotonic() - started < 0.6


def test_an_answer_complete_within_the_deadline_is_used(tmp_path: Path) -> None:
    """A few quick pieces make a complete answer: parsed as usual."""
    body = b'{"answer": "hello"}'
    client = _client(tmp_path, body, pieces=3, every_s=0.01)
    assert client.read_once("/answers/greeting") == {"answer": "hello"}
