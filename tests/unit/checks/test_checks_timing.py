"""Tests for failover and recovery timing (harness.checks.timing)."""

from __future__ import annotations

import pytest

from harness.checks import CheckContext, TimingParams
from harness.checks.timing import baseline_of, failover_s, recovery_s
from harness.metrics.synthetic import Seg, store_for
from harness.results.model import FaultWindowRecord, Outcome

OK, FB, ERR = Outcome.OK, Outcome.FALLBACK, Outcome.ERROR


def scenario(switch_s: float, slow_until_s: float) -> list[Seg]:
    """Fault 10-30 s: errors until ``switch_s``, then fallback; slow from 30 to ``slow_until_s``."""
    return [
        Seg(0, 10, "orders", OK, 40, 100),
        Seg(10, switch_s, "orders", ERR, 40, 1000),
        Seg(switch_s, 30, "orders", FB, 40, 20),
        Seg(30, slow_until_s, "orders", OK, 40, 600),
        Seg(slow_until_s, 40, "orders", OK, 40, 100),
    ]


@pytest.mark.parametrize("bucket_s", [0.1, 0.25, 1.0])
@pytest.mark.parametrize(("switch_s", "slow_until_s"), [(12.3, 31.6), (10.8, 33.05)])
def test_failover_and_recovery_within_one_bucket(
    bucket_s: float, switch_s: float, slow_until_s: float
) -> None:
    """Measured failover and recovery match the synthetic truth to within one bucket."""
    store = store_for(scenario(switch_s, slow_until_s), bucket_s)
    failover = failover_s(store, 10.0, 30.0, window_s=bucket_s)
    baseline = baseline_of(store, 0, 10)
    recovery = recovery_s(store, 30.0, 40.0, baseline, window_s=bucket_s)
    assert failover == pytest.approx(switch_s - 10.0, abs=bucket_s)
    assert recovery == pytest.approx(slow_until_s - 30.0, abs=bucket_s)


def test_fine_buckets_meet_quarter_second() -> None:
    """With 0.1 s buckets and a 1 s window the estimate is well within 0.25 s."""
    store = store_for(scenario(12.37, 31.62), 0.1)
    assert failover_s(store, 10.0, 30.0, window_s=1.0) == pytest.approx(2.37, abs=0.1)
    baseline = baseline_of(store, 0, 10)
    assert recovery_s(store, 30.0, 40.0, baseline, window_s=1.0) == pytest.approx(1.62, abs=0.1)


def test_never_dropped_is_zero_and_never_recovered_is_none() -> None:
    """Failover is 0 when service never dropped and None when it never came back."""
    healthy = store_for([Seg(0, 40, "orders", OK, 20, 100)])
    assert failover_s(healthy, 10.0, 30.0) == 0.0
    broken = store_for([Seg(0, 10, "orders", OK, 20, 100), Seg(10, 30, "orders", ERR, 20, 100)])
    assert failover_s(broken, 10.0, 30.0) is None


def test_for_good_ignores_a_brief_blip() -> None:
    """A passing blip followed by more failure does not count as failover."""
    segs = [
        Seg(10, 12, "orders", ERR, 20),
        Seg(12, 13, "orders", OK, 20),
        Seg(13, 15, "orders", ERR, 20),
        Seg(15, 30, "orders", OK, 20),
    ]
    assert failover_s(store_for(segs), 10.0, 30.0) == pytest.approx(5.0, abs=1.0)
    # with a short hold, the blip is enough
    assert failover_s(store_for(segs), 10.0, 30.0, hold_s=1.0) == pytest.approx(2.0, abs=1.0)


def test_context_timings_use_params() -> None:
    """CheckContext.timings computes ResilienceTiming per applied fault."""
    fault = FaultWindowRecord(
        fault="down",
        script="outage",
        proxy="orders",
        type="down",
        planned_start_s=10,
        planned_end_s=30,
        applied_s=10.0,
        reverted_s=30.0,
    )
    ctx = CheckContext(
        store_for(scenario(12.3, 31.6), 0.25),
        0.25,
        [("baseline", 0, 10), ("fault", 10, 30), ("recovery", 30, 40)],
        baseline_phase="baseline",
        faults=[fault],
        timing_params=TimingParams(window_s=0.5),
    )
    (timing,) = ctx.timings
    assert timing.failover_s == pytest.approx(2.3, abs=0.25)
    assert timing.recovery_s == pytest.approx(1.6, abs=0.25)
