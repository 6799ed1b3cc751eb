"""Recovery and failover against synthetic ground truth with noise (harness.checks.timing).

The streams here are what a healthy-but-noisy system looks like to the harness: Poisson
arrivals, heavy-ish per-request latency (lognormal body plus rare 3-8x spikes and
scheduler jitter), and one rare slow endpoint (2.5 s, 2.5 % of requests). The test
decides when the system recovers, so every figure is compared with a known truth.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest

from harness.checks import CheckContext, parse_checks
from harness.checks.timing import baseline_of, failover, recovery
from harness.metrics.recorder import Recorder
from harness.metrics.store import MetricStore
from harness.results.model import FaultWindowRecord, Outcome

BUCKET_S = 0.1
FAULT_S, REVERT_S, END_S = 5.0, 10.0, 20.0  # baseline 0-5 s, fault 5-10 s, recovery 10-20 s
AGREEMENT_S = 0.25
FAST_ENDPOINTS = ("orders", "chat", "tickets")
SLOW_ENDPOINT, SLOW_SHARE, SLOW_MS = "reports", 0.025, 2500.0


@dataclass(frozen=True)
class Noisy:
    """A noisy system: who is slow when, and how the latency of a healthy request varies."""

    recovered_s: float | None  # requests starting from here are healthy again; None: never
    median_ms: float = 40.0
    fault_extra_ms: float = 300.0  # latency added to every request while unhealthy
    error_share_after: float = 0.0  # errors after the fault, even once latency is back
    rps: float = 40.0


def healthy_ms(rng: random.Random, endpoint: str, median_ms: float) -> float:
    """One healthy latency: lognormal body, 2 % spikes of 3-8x, up to ~1 ms jitter."""
    base = SLOW_MS if endpoint == SLOW_ENDPOINT else median_ms
    latency = base * rng.lognormvariate(0.0, 0.4)
    if rng.random() < 0.02:
        latency *= rng.uniform(3.0, 8.0)
    return latency + rng.expovariate(1.0)


def noisy_store(seed: int, system: Noisy) -> MetricStore:
    """Poisson arrivals over 0-20 s, unhealthy from FAULT_S until ``system.recovered_s``."""
    rng = random.Random(seed)
    rows: list = []
    recorder = Recorder(BUCKET_S, rows.extend)
    t = 0.0
    while (t := t + rng.expovariate(system.rps)) < END_S:
        slow = rng.random() < SLOW_SHARE
        endpoint = SLOW_ENDPOINT if slow else rng.choice(FAST_ENDPOINTS)
        latency_ms = healthy_ms(rng, endpoint, system.median_ms)
        unhealthy = t >= FAULT_S and (system.recovered_s is None or t < system.recovered_s)
        if unhealthy:
            latency_ms += system.fault_extra_ms
        outcome = Outcome.OK
        if t >= REVERT_S and rng.random() < system.error_share_after:
            outcome = Outcome.ERROR
        recorder.record(
            t_s=t, endpoint=endpoint, outcome=outcome, latency_us=int(latency_ms * 1000)
        )
    recorder.flush_all()
    return MetricStore.from_rows(rows, BUCKET_S)


def truths(n: int) -> list[tuple[int, float]]:
    """``n`` (seed, recovery instant) pairs, the instants spread over 0.05-1.9 s after revert."""
    rng = random.Random(20240611)
    return [(seed, REVERT_S + rng.uniform(0.05, 1.9)) for seed in range(n)]


def measure(store: MetricStore, **kwargs) -> float | None:
    """Recovery (s) after REVERT_S against the 0-5 s baseline, default criteria."""
    baseline = baseline_of(store, 0.0, FAULT_S)
    assert baseline is not None
    return recovery(store, REVERT_S, END_S, baseline, **kwargs).s


@pytest.mark.parametrize("window_s", [0.5, 1.0])
def test_recovery_within_quarter_second_in_20_of_20_noisy_runs(window_s: float) -> None:
    """Default criteria on a noisy system: every one of 20 runs within 0.25 s of the truth."""
    errors = []
    for seed, recovered_s in truths(20):
        measured = measure(noisy_store(seed, Noisy(recovered_s)), window_s=window_s)
        truth = recovered_s - REVERT_S
        errors.append(None if measured is None else round(measured - truth, 3))
    assert all(e is not None and abs(e) <= AGREEMENT_S for e in errors), errors


def test_recovery_with_a_baseline_p95_of_a_few_ms() -> None:
    """A 2 ms system (p95 5-15 ms): a few ms more is not slow (slack), and recovery is still on time."""
    errors = []
    for seed, recovered_s in truths(20):
        system = Noisy(recovered_s, median_ms=2.0, fault_extra_ms=50.0)
        store = noisy_store(seed, system)
        baseline = baseline_of(store, 0.0, FAULT_S)
        assert (
            baseline is not None and max(baseline.endpoint_p95_ms[e] for e in FAST_ENDPOINTS) < 15.0
        )
        measured = measure(store)
        errors.append(None if measured is None else round(measured - (recovered_s - REVERT_S), 3))
    assert all(e is not None and abs(e) <= AGREEMENT_S for e in errors), errors


def test_few_ms_baseline_without_slack_is_judged_slow() -> None:
    """The slack is what keeps a few-ms system recovered: with latency_slack_ms 0 a healthy
    system whose latency drifts by 3 ms (4 -> 7 ms) never recovers; with the default it does."""
    rng = random.Random(3)
    rows: list = []
    recorder = Recorder(BUCKET_S, rows.extend)
    t = 0.0
    while (t := t + rng.expovariate(40.0)) < END_S:
        median = 3.0 if t < FAULT_S else 6.0  # a little slower afterwards, not broken
        recorder.record(
            t_s=t,
            endpoint="orders",
            outcome=Outcome.OK,
            latency_us=int(median * rng.lognormvariate(0.0, 0.2) * 1000),
        )
    recorder.flush_all()
    store = MetricStore.from_rows(rows, BUCKET_S)
    assert measure(store) == 0.0
    assert measure(store, latency_slack_ms=0.0) is None


def test_never_recovered_latency_is_none() -> None:
    """Still 300 ms slower at the drill's end: recovery is None in every seed."""
    assert [measure(noisy_store(seed, Noisy(None))) for seed in range(5)] == [None] * 5


def test_never_recovered_errors_is_none() -> None:
    """Latency back at once but 15 % errors (baseline 0 %) to the end: recovery is None."""
    system = Noisy(REVERT_S, error_share_after=0.15)
    assert [measure(noisy_store(seed, system)) for seed in range(5)] == [None] * 5


def test_healthy_system_recovers_at_once() -> None:
    """Recovered at the revert instant itself: recovery is within a bucket of 0 in every seed."""
    measured = [measure(noisy_store(seed, Noisy(REVERT_S))) for seed in range(10)]
    assert all(m is not None and m <= BUCKET_S for m in measured), measured


def test_windows_with_too_few_requests_are_no_data() -> None:
    """2 rps and 1 s windows: fewer than min_requests everywhere -> no data with a reason."""
    store = noisy_store(1, Noisy(REVERT_S + 0.5, rps=2.0))
    baseline = baseline_of(store, 0.0, FAULT_S)
    assert baseline is not None
    settled = recovery(store, REVERT_S, END_S, baseline)
    assert settled.s is None
    assert settled.no_data is not None and "fewer than 10 requests" in settled.no_data
    assert recovery(store, REVERT_S, END_S, baseline, min_requests=1, window_s=5.0).s is not None


def test_recovery_check_exposes_slack_and_min_requests() -> None:
    """recovery_time takes latency_slack_ms and min_requests, and says 'no data' when thin."""
    store = noisy_store(1, Noisy(REVERT_S + 0.5, rps=2.0))
    fault = FaultWindowRecord(
        fault="slow", script="slow", proxy="p", type="latency", planned_start_s=FAULT_S,
        planned_end_s=REVERT_S, applied_s=FAULT_S, reverted_s=REVERT_S,
    )  # fmt: skip
    ctx = CheckContext(
        store, BUCKET_S, [("baseline", 0, 5), ("fault", 5, 10), ("after", 10, 20)],
        baseline_phase="baseline", faults=[fault],
    )  # fmt: skip
    thin, wide = parse_checks(
        [{"type": "recovery_time", "max_s": 5},
         {"type": "recovery_time", "max_s": 5, "window_s": 5, "min_requests": 5,
          "latency_slack_ms": 2}]
    )  # fmt: skip
    result = thin.evaluate(ctx)
    assert result.measured is None and not result.passed
    assert "no data: fewer than 10 requests" in result.detail
    assert wide.evaluate(ctx).measured is not None


# -- failover: bursts shorter than a window ---------------------------------------------


def burst_store(
    seed: int, applied_s: float, errors: int, rps: float = 30.0
) -> tuple[MetricStore, float]:
    """Poisson arrivals; the first ``errors`` requests from ``applied_s`` fail, then the replica
    serves (fallback), as when a front's breaker opens after a few failures. Returns the store
    and the truth: seconds from ``applied_s`` to the start of the last failed request."""
    rng = random.Random(seed)
    rows: list = []
    recorder = Recorder(BUCKET_S, rows.extend)
    t, failed, last_failed_s = 0.0, 0, applied_s
    while (t := t + rng.expovariate(rps)) < 20.0:
        outcome = Outcome.OK if t < applied_s else Outcome.FALLBACK
        if t >= applied_s and failed < errors:
            outcome, failed, last_failed_s = Outcome.ERROR, failed + 1, t
        latency_ms = 20.0 * rng.lognormvariate(0.0, 0.4)
        recorder.record(t_s=t, endpoint="orders", outcome=outcome, latency_us=int(latency_ms * 1e3))
    recorder.flush_all()
    return MetricStore.from_rows(rows, BUCKET_S), last_failed_s - applied_s


@pytest.mark.parametrize("window_s", [0.5, 1.0])
def test_short_burst_failover_is_the_last_failed_request(window_s: float) -> None:
    """Bursts of 3-8 errors (0.03-0.4 s, a window holds all of them) at any offset in a
    bucket: failover is the last failed request within 0.1 s, never the end of the window."""
    rng = random.Random(7)
    errors = []
    for seed in range(20):
        applied_s, burst = 10.0 + rng.uniform(0, 0.1), rng.randint(3, 8)
        store, truth = burst_store(seed, applied_s, burst)
        measured = failover(store, applied_s, 20.0, window_s=window_s).s
        errors.append(None if measured is None else round(measured - truth, 3))
    assert all(e is not None and abs(e) <= 0.1 for e in errors), errors
