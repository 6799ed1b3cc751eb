"""Tests for harness.load.classify and harness.load.events (no Locust in this process)."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field

import pytest

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


def classifier(**rules: object) -> RequestClassifier:
    writes = [WriteRule(endpoint="tickets:create", id_field="ticket_id", read_path="/t/{id}")]
    return RequestClassifier(OutcomeRules(**rules), writes, DrillClock.started_at(T0))


def classify(
    c: RequestClassifier,
    response=None,
    *,
    name="orders",
    exception=None,
    context=None,
    start=T0 + 1.0,
    ms=20.0,
):
    return c.classify(
        name=name,
        response_time=ms,
        response=response,
        context=context,
        exception=exception,
        start_time=start,
    )


def test_module_does_not_import_locust() -> None:
    """The classifier is usable (and tested) without Locust's gevent monkey-patching."""
    assert "locust" not in sys.modules


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (200, Outcome.OK),
        (302, Outcome.OK),
        (429, Outcome.SHED),
        (503, Outcome.ERROR),
        (500, Outcome.ERROR),
        (404, Outcome.ERROR),
        (0, Outcome.ERROR),
    ],
)
def test_outcome_from_status(status: int, expected: Outcome) -> None:
    """Status codes decide first: shed codes, other 4xx/5xx and no response are errors."""
    sample, _ = classify(classifier(), FakeResponse(status))
    assert sample.outcome is expected


def test_outcome_from_header_and_json_markers() -> None:
    """A 2xx with a declared header or JSON marker is fallback or degraded."""
    c = classifier(
        markers=[
            Marker(outcome=Outcome.FALLBACK, header="X-Mode", value="fallback"),
            Marker(outcome=Outcome.DEGRADED, json_field="meta.mode", value="degraded"),
        ]
    )
    assert classify(c, FakeResponse(200, {"x-mode": "fallback"}))[0].outcome is Outcome.FALLBACK
    body = b'{"meta": {"mode": "degraded"}}'
    assert classify(c, FakeResponse(200, content=body))[0].outcome is Outcome.DEGRADED
    assert classify(c, FakeResponse(200, content=b"not json"))[0].outcome is Outcome.OK


def test_exception_on_a_2xx_is_an_error_and_transport_failure_too() -> None:
    """catch_response failures on a 2xx and requests without any response count as errors."""
    c = classifier()
    assert classify(c, FakeResponse(200), exception=ValueError("x"))[0].outcome is Outcome.ERROR
    assert classify(c, None, exception=ConnectionError("refused"))[0].outcome is Outcome.ERROR
    assert classify(c, FakeResponse(429), exception=ValueError("x"))[0].outcome is Outcome.SHED


def test_retry_after_missing_only_for_shed_without_header() -> None:
    """A shed response without Retry-After is flagged; with it (any case) it is not."""
    c = classifier()
    assert classify(c, FakeResponse(429))[0].retry_after_missing is True
    assert classify(c, FakeResponse(429, {"retry-after": "1"}))[0].retry_after_missing is False
    assert classify(c, FakeResponse(500))[0].retry_after_missing is False


def test_acknowledged_write_needs_2xx_and_an_id() -> None:
    """A write rule's endpoint with a 2xx and an id field is an acknowledged write, else not."""
    c = classifier()
    ok = FakeResponse(201, content=b'{"ticket_id": "T-7"}')
    sample, write = classify(c, ok, name="tickets:create")
    assert write is not None and write.write_id == "T-7" and write.read_path == "/t/T-7"
    assert write.kind is WriteKind.ACKNOWLEDGED
    assert write.t_s == pytest.approx(sample.t_s)

    def kind(response, **kw) -> WriteKind | None:
        row = classify(c, response, name="tickets:create", **kw)[1]
        return None if row is None else row.kind

    assert kind(FakeResponse(201, content=b"{}")) is WriteKind.UNMATCHED
    assert kind(FakeResponse(500, content=b'{"ticket_id": "T-8"}')) is WriteKind.INDETERMINATE
    assert kind(ok, exception=ValueError("x")) is WriteKind.UNMATCHED  # marked failed
    assert classify(c, ok, name="orders")[1] is None


def test_start_time_and_latency_without_an_arrival() -> None:
    """Closed model: the sample starts at the request's start and has no corrected latency."""
    sample, _ = classify(classifier(), FakeResponse(200), start=T0 + 2.5, ms=12.3456)
    assert sample.t_s == pytest.approx(2.5)
    assert sample.latency_us == 12346
    assert sample.intended_latency_us is None


def test_intended_latency_adds_the_arrival_lateness() -> None:
    """Open model: the arrival's lateness moves the start back and adds to the latency."""
    context = {ARRIVAL_LATENESS_KEY: 0.5}
    sample, _ = classify(classifier(), FakeResponse(200), start=T0 + 3.0, ms=100.0, context=context)
    assert sample.t_s == pytest.approx(2.5)
    assert sample.latency_us == 100_000
    assert sample.intended_latency_us == 600_000


def test_each_request_of_a_task_gets_the_same_lateness_not_the_first_requests_time() -> None:
    """The second request of a task is corrected by the arrival's delay only, not by request one."""
    c = classifier()
    context = {ARRIVAL_LATENESS_KEY: 0.2}
    first, _ = classify(c, FakeResponse(200), start=T0 + 1.0, ms=300.0, context=context)
    second, _ = classify(c, FakeResponse(200), start=T0 + 1.3, ms=50.0, context=context)
    assert first.intended_latency_us == 500_000
    assert second.intended_latency_us == 250_000
    assert second.t_s == pytest.approx(1.1)


def test_negative_lateness_counts_as_on_time() -> None:
    """A clock step backwards never makes the corrected latency smaller than the actual one."""
    sample, _ = classify(
        classifier(), FakeResponse(200), ms=10.0, context={ARRIVAL_LATENESS_KEY: -1.0}
    )
    assert sample.intended_latency_us == sample.latency_us


# -- events kept by the listener, classified in a batch (harness.load.events) --


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


def test_a_batch_classifies_every_kind_of_event_as_the_per_event_rules_say() -> None:
    """Each event's sample and write, pinned field by field (not compared with the batch
    itself): ok, fallback, shed with and without Retry-After, transport error, a 2xx the
    scenario failed, no response and no exception (Locust's ``measure()``), writes
    acknowledged and indeterminate, open-model lateness."""
    c = classifier(markers=[Marker(outcome="fallback", header="X-Mode", value="fallback")])
    events = RequestEvents(c)
    ms = 20_000
    cases: list[tuple[str, object, dict[str, object], tuple[Outcome, str | None, bool]]] = [
        ("orders", FakeResponse(200), {}, (Outcome.OK, None, False)),
        ("orders", FakeResponse(200, {"X-Mode": "fallback"}), {}, (Outcome.FALLBACK, None, False)),
        ("orders", FakeResponse(429), {}, (Outcome.SHED, None, True)),
        ("orders", FakeResponse(429, {"Retry-After": "1"}), {}, (Outcome.SHED, None, False)),
        (
            "orders",
            None,
            {"exception": ConnectionRefusedError("refused")},
            (Outcome.ERROR, "ConnectionRefusedError", False),
        ),
        (
            "orders",
            FakeResponse(200),
            {"exception": ValueError("wrong body")},
            (Outcome.ERROR, "ValueError", False),
        ),
        ("orders", None, {}, (Outcome.ERROR, "no response", False)),
        ("tickets:create", FakeResponse(201, content=b'{"ticket_id": "T-9"}'), {}, (Outcome.OK, None, False)),
        ("tickets:create", None, {}, (Outcome.ERROR, "no response", False)),
        ("kb", FakeResponse(200), {"context": {ARRIVAL_LATENESS_KEY: 0.25}}, (Outcome.OK, None, False)),
    ]  # fmt: skip
    for name, response, extra, _ in cases:
        fire(events, name, response, **extra)
    assert len(events) == len(cases)
    samples, writes = c.classify_all(events.take())
    assert len(events) == 0 and events.take() == []
    assert [(s.outcome, s.error_kind, s.retry_after_missing) for s in samples] == [
        expected for *_, expected in cases
    ]
    assert [s.endpoint for s in samples] == [name for name, *_ in cases]
    assert all(s.latency_us == ms for s in samples)
    assert [(s.t_s, s.intended_latency_us) for s in samples[:-1]] == [(1.0, None)] * 9
    assert (samples[-1].t_s, samples[-1].intended_latency_us) == (0.75, ms + 250_000)
    assert [(w.kind, w.write_id, w.status) for w in writes] == [
        (WriteKind.ACKNOWLEDGED, "T-9", 201),
        (WriteKind.INDETERMINATE, None, 0),
    ]


def test_an_event_the_batch_cannot_read_is_an_error_of_its_endpoint_not_a_lost_batch() -> None:
    """An event whose fields the batch cannot use (here a custom client's response time of
    None) costs that event only: an error sample of its endpoint, named, between the others."""
    c = classifier()
    events = RequestEvents(c)
    fire(events, "orders", FakeResponse(200))
    fire(events, "kb", FakeResponse(200))
    kept = events.take()
    odd = ("search", None, Outcome.OK, 200, None, T0 + 1.5, None, None)
    samples, _ = c.classify_all([kept[0], odd, kept[1]])
    assert [(s.endpoint, s.outcome, s.error_kind) for s in samples] == [
        ("orders", Outcome.OK, None),
        ("search", Outcome.ERROR, "unclassifiable: TypeError"),
        ("kb", Outcome.OK, None),
    ]
    assert samples[1].latency_us is None and samples[1].t_s == 1.5


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
