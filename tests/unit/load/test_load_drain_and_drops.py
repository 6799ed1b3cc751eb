"""Dropped arrivals as rows, requests in flight at the end, cut-off samples (no Locust here)."""

from __future__ import annotations

import sys

import pytest

from harness.checks import CheckContext, parse_checks
from harness.clock import DrillClock
from harness.load.classify import RequestClassifier
from harness.load.dropped import DroppedArrivals
from harness.load.inflight import InFlight
from harness.load.outcome import OutcomeRules
from harness.metrics.recorder import Recorder
from harness.metrics.store import MetricStore
from harness.metrics.summary import PhaseSpan, phase_summary, time_series
from harness.results.model import Outcome
from harness.results.raw import DROPPED_ENDPOINT, MetricRow

T0 = 1_000_000.0
BUCKET_S = 0.5


def test_no_locust_imported() -> None:
    assert "locust" not in sys.modules


def test_drops_become_error_rows_in_the_bucket_of_their_intended_time() -> None:
    rows: list[MetricRow] = []
    drops = DroppedArrivals(BUCKET_S, sink=rows.extend)
    for t_s in (0.1, 0.2, 0.7, 1.49, 1.5):
        drops.record(t_s)
    assert drops.flush(0.9) == 1  # only bucket 0 has ended
    assert [(r.bucket, r.count) for r in rows] == [(0, 2)]
    assert drops.flush(1.0) == 1  # bucket 1 ends at 1.0
    drops.flush_all()
    assert [(r.bucket, r.count) for r in rows] == [(0, 2), (1, 1), (2, 1), (3, 1)]
    assert {(r.endpoint, r.outcome) for r in rows} == {(DROPPED_ENDPOINT, Outcome.ERROR)}
    assert drops.total == 5 == sum(r.count for r in rows)
    assert drops.flush_all() == 0  # nothing is emitted twice


def _store_with_drops() -> MetricStore:
    """2 s: 10 ok requests of 100 ms a second sent, 10 arrivals a second dropped."""
    rows: list[MetricRow] = []
    recorder = Recorder(BUCKET_S, sink=rows.extend)
    drops = DroppedArrivals(BUCKET_S, sink=rows.extend)
    for i in range(20):
        recorder.record(t_s=i / 10, endpoint="orders", outcome=Outcome.OK, latency_us=100_000)
        drops.record(i / 10 + 0.05)
    recorder.flush_all()
    drops.flush_all()
    return MetricStore.from_rows(rows, BUCKET_S)


def test_drops_count_in_ratios_and_checks_but_not_in_latency() -> None:
    store = _store_with_drops()
    summary = phase_summary(store, PhaseSpan("load", 0.0, 2.0))
    assert summary.outcome_counts[Outcome.ERROR] == 20
    assert summary.error_ratio == pytest.approx(0.5)
    assert summary.p99_ms == pytest.approx(100, rel=0.01)  # only the requests sent
    dropped = summary.endpoints[DROPPED_ENDPOINT]
    assert dropped.requests == 20 and dropped.p50_ms is None and dropped.max_ms is None
    series = time_series(store, 2.0)
    assert series.error_ratio == [pytest.approx(0.5)] * 4
    assert series.p99_ms == [pytest.approx(100, rel=0.01)] * 4

    checks = parse_checks(
        [
            {"type": "availability", "min_ratio": 0.9},
            {"type": "error_rate", "max_ratio": 0.1},
            {"type": "latency", "percentile": 99, "max_ms": 200},
            {"type": "availability", "min_ratio": 0.9, "endpoints": ["orders"]},
        ]
    )
    ctx = CheckContext(store, BUCKET_S, [("load", 0.0, 2.0)])
    availability, error_rate, latency, orders_only = (c.evaluate(ctx) for c in checks)
    assert not availability.passed and availability.measured == pytest.approx(0.5)
    assert not error_rate.passed and error_rate.measured == pytest.approx(0.5)
    assert latency.passed
    assert orders_only.passed  # endpoint-filtered checks do not see the drops


def test_in_flight_registry_returns_what_is_still_open() -> None:
    in_flight = InFlight()
    a = in_flight.begin("a", T0 + 1.0)
    in_flight.begin("b", T0 + 2.0, lateness_s=0.5)
    in_flight.end(a)
    in_flight.end(a)  # ending twice is harmless
    assert len(in_flight) == 1
    (pending,) = in_flight.cut_off()
    assert (pending.name, pending.start_unix_s, pending.lateness_s) == ("b", T0 + 2.0, 0.5)
    assert len(in_flight) == 0 and in_flight.cut_off() == []


def test_a_cut_off_request_is_an_error_in_the_bucket_it_started_in() -> None:
    classifier = RequestClassifier(OutcomeRules(), [], DrillClock.started_at(T0))
    sample = classifier.cut_off(
        name="orders", start_unix_s=T0 + 2.9, end_unix_s=T0 + 5.0, lateness_s=None
    )
    assert (sample.endpoint, sample.outcome) == ("orders", Outcome.ERROR)
    assert sample.t_s == pytest.approx(2.9)
    assert sample.latency_us == 2_100_000 and sample.intended_latency_us is None
    late = classifier.cut_off(
        name="orders", start_unix_s=T0 + 2.9, end_unix_s=T0 + 5.0, lateness_s=0.4
    )
    assert late.t_s == pytest.approx(2.5)  # open model: its intended start
    assert late.intended_latency_us == 2_500_000
