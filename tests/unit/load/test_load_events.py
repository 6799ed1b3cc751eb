"""Tests for harness.load.events: request events kept raw, classified in batches (no Locust)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from harness.clock import DrillClock
from harness.drill.model import WriteRule
from harness.load.classify import ARRIVAL_LATENESS_KEY, RequestClassifier
from harness.load.events import RequestEvents
from harness.load.outcome import Marker, OutcomeRules
from harness.results.model import Outcome
from harness.results.raw import WriteKind

T0 = 1_000_000.0


@dataclass
class FakeResponse:
    status_code: int
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes = b""


def classifier() -> RequestClassifier:
    rules = OutcomeRules(markers=[Marker(outcome="fallback", header="X-Mode", value="fallback")])
    writes = [WriteRule(endpoint="tickets:create", id_field="ticket_id", read_path="/t/{id}")]
    return RequestClassifier(rules, writes, DrillClock.started_at(T0))


def fire(events: RequestEvents, name: str, response: object = None, **event: object) -> None:
    """Call the listener as Locust's ``request`` event does (keywords, ``url`` among them)."""
    defaults = {"context": {}, "exception": None, "start_time": T0 + 1.0, "url": "/x"}
    events.on_request(
        request_type="GET",
        name=name,
        response_time=event.pop("response_time", 20.0),
        response_length=0,
        response=response,
        **{**defaults, **event},
    )


def test_a_batch_gives_what_classifying_each_event_gives() -> None:
    """Ok, fallback, shed without Retry-After, transport error, write, open-model lateness."""
    c = classifier()
    events = RequestEvents(c)
    cases: list[tuple[str, object, dict[str, object]]] = [
        ("orders", FakeResponse(200), {}),
        ("orders", FakeResponse(200, {"X-Mode": "fallback"}), {}),
        ("orders", FakeResponse(429), {}),
        ("orders", None, {"exception": ConnectionRefusedError("refused")}),
        ("tickets:create", FakeResponse(201, content=b'{"ticket_id": "T-9"}'), {}),
        ("kb", FakeResponse(200), {"context": {ARRIVAL_LATENESS_KEY: 0.25}}),
    ]
    for name, response, extra in cases:
        fire(events, name, response, **extra)
    assert len(events) == len(cases)
    samples, writes = c.classify_all(events.take())
    assert len(events) == 0 and events.take() == []
    one_by_one = [
        c.classify(
            name=name,
            response_time=20.0,
            response=response,
            context=extra.get("context", {}),
            exception=extra.get("exception"),
            start_time=T0 + 1.0,
        )
        for name, response, extra in cases
    ]
    assert samples == [sample for sample, _ in one_by_one]
    assert writes == [write for _, write in one_by_one if write is not None]
    assert [s.outcome for s in samples] == [
        Outcome.OK,
        Outcome.FALLBACK,
        Outcome.SHED,
        Outcome.ERROR,
        Outcome.OK,
        Outcome.OK,
    ]
    assert samples[2].retry_after_missing and samples[3].error_kind == "ConnectionRefusedError"
    assert [(w.kind, w.write_id) for w in writes] == [(WriteKind.ACKNOWLEDGED, "T-9")]
    assert samples[5].t_s == 0.75 and samples[5].intended_latency_us == 270_000


def test_a_start_time_missing_is_taken_when_the_event_fires_not_when_collected() -> None:
    """A custom client without start_time: its start is 'now - response time' at the event."""
    c = classifier()
    events = RequestEvents(c)
    before = time.time()
    fire(events, "orders", FakeResponse(200), start_time=None, response_time=500.0)
    after = time.time()
    time.sleep(0.05)  # collected later: must not move the start
    (sample,), _ = c.classify_all(events.take())
    assert before - 0.5 - T0 <= sample.t_s <= after - 0.5 - T0


def test_an_ordinary_request_keeps_no_response_an_error_keeps_its_own() -> None:
    """What waits for the collect holds plain values unless the batch needs the response."""
    c = classifier()
    events = RequestEvents(c)
    ok, failed, write = FakeResponse(200), FakeResponse(503), FakeResponse(201)
    fire(events, "orders", ok)
    fire(events, "orders", failed)
    fire(events, "tickets:create", write)
    kept = events.take()
    held = [item for event in kept for item in event if isinstance(item, FakeResponse)]
    assert held == [failed, write]
    assert ok not in kept[0] and None in kept[0]
