"""Tests for failover and recovery timing (harness.checks.timing)."""

from __future__ import annotations

import pytest

from harness.checks import CheckContext, TimingParams, parse_checks
from harness.checks.resilience import report_timings
from harness.checks.timing import baseline_of, failover, failover_s, recovery_s, send_lag_s
from harness.errors import ValidationFailed
from harness.metrics.recorder import Recorder
from harness.metrics.store import MetricStore
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
    # a 0.1 s window holds 4 requests here: judge it anyway (the default wants 10)
    recovery = recovery_s(store, 30.0, 40.0, baseline, window_s=bucket_s, min_requests=4)
    assert failover == pytest.approx(switch_s - 10.0, abs=bucket_s)
    assert recovery == pytest.approx(slow_until_s - 30.0, abs=bucket_s)


def test_fine_buckets_meet_quarter_second() -> None:
    """With 0.1 s buckets and a 1 s window the estimate is well within 0.25 s."""
    store = store_for(scenario(12.37, 31.62), 0.1)
    assert failover_s(store, 10.0, 30.0, window_s=1.0) == pytest.approx(2.37, abs=0.1)
    baseline = baseline_of(store, 0, 10)
    assert recovery_s(store, 30.0, 40.0, baseline, window_s=1.0) == pytest.approx(1.62, abs=0.1)


@pytest.mark.parametrize("window_s", [0.5, 1.0])
@pytest.mark.parametrize("applied_s", [10.0, 9.95, 10.03, 10.07])
def test_burst_inside_one_window_ends_where_the_last_error_is(
    applied_s: float, window_s: float
) -> None:
    """3 errors at 30 rps (0.1 s), then the replica serves: failover 0.1 s, not the window's end.

    The step model's bad level is read from buckets wholly inside the burst (none here: the
    burst is taken as wholly bad), not from earlier windows that hold the same burst.
    """
    segs = [
        Seg(0, applied_s, "orders", OK, 30, 20),
        Seg(applied_s, applied_s + 0.1, "orders", ERR, 30, 5),
        Seg(applied_s + 0.1, 20, "orders", FB, 30, 20),
    ]
    measured = failover_s(store_for(segs, 0.1), applied_s, 20.0, window_s=window_s)
    assert measured == pytest.approx(0.1, abs=0.025)


def test_no_request_in_the_fault_window_is_no_data_not_zero() -> None:
    """No request between fault applied and reverted: failover is None with a reason, not 0."""
    store = store_for([Seg(0, 10, "orders", OK, 20, 100), Seg(30, 40, "orders", OK, 20, 100)])
    settled = failover(store, 10.0, 30.0)
    assert settled.s is None and settled.no_data is not None
    assert "no request between 10 and 30 s" in settled.no_data
    assert failover(store, 10.0, 30.0).no_data == settled.no_data
    broken = store_for([Seg(10, 30, "orders", ERR, 20, 100)])
    assert failover(broken, 10.0, 30.0) == (None, None)  # there was data: never, not no data


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


# -- black hole: slow successes until the breaker opens, fallback until failback -------


def blackhole(open_s: float, failback_s: float) -> list[Seg]:
    """Fault 10-20 s: fallback after 700 ms until ``open_s``, then fast fallback until ``failback_s``."""
    return [
        Seg(0, 10, "orders", OK, 40, 20),
        Seg(10, open_s, "orders", FB, 40, 700),
        Seg(open_s, failback_s, "orders", FB, 40, 20),
        Seg(failback_s, 30, "orders", OK, 40, 20),
    ]


FAULT = FaultWindowRecord(
    fault="blackhole",
    script="orders-primary-blackhole",
    proxy="helpdesk_orders_primary",
    type="timeout",
    planned_start_s=10,
    planned_end_s=20,
    applied_s=10.0,
    reverted_s=20.0,
)


def blackhole_ctx(open_s: float = 10.57, failback_s: float = 21.13) -> CheckContext:
    """A context over the black-hole stream with 0.1 s buckets and default timing params."""
    return CheckContext(
        store_for(blackhole(open_s, failback_s), 0.1),
        0.1,
        [("baseline", 0, 10), ("fault", 10, 20), ("recovery", 20, 30)],
        baseline_phase="baseline",
        faults=[FAULT],
    )


@pytest.mark.parametrize("open_s", [10.53, 10.87, 11.4])
def test_max_latency_ms_times_failover_until_reads_are_fast(open_s: float) -> None:
    """With max_latency_ms, failover lasts until reads are fast again, within 0.1 s."""
    store = store_for(blackhole(open_s, 21.0), 0.1)
    assert failover_s(store, 10.0, 20.0, window_s=0.5) == 0.0  # slow successes still count
    measured = failover_s(store, 10.0, 20.0, window_s=0.5, max_latency_ms=300)
    assert measured == pytest.approx(open_s - 10.0, abs=0.1)


@pytest.mark.parametrize("failback_s", [20.55, 21.13, 22.9])
def test_fallback_tolerance_times_recovery_until_served_normally(failback_s: float) -> None:
    """With fallback_tolerance, recovery lasts until reads leave the fallback, within 0.1 s."""
    store = store_for(blackhole(10.6, failback_s), 0.1)
    baseline = baseline_of(store, 0, 10)
    assert recovery_s(store, 20.0, 30.0, baseline, window_s=0.5) == 0.0  # fast fallback passes
    measured = recovery_s(store, 20.0, 30.0, baseline, window_s=0.5, fallback_tolerance=0.05)
    assert measured == pytest.approx(failback_s - 20.0, abs=0.1)


def test_fallback_tolerance_is_relative_to_the_baseline() -> None:
    """A baseline that already has 30 % fallbacks is recovered to once back at 30 %."""
    segs = [
        Seg(0, 10, "orders", OK, 28, 20),
        Seg(0, 10, "orders", FB, 12, 20),
        Seg(10, 21.3, "orders", FB, 40, 20),
        Seg(21.3, 30, "orders", OK, 28, 20),
        Seg(21.3, 30, "orders", FB, 12, 20),
    ]
    store = store_for(segs, 0.1)
    baseline = baseline_of(store, 0, 10)
    assert baseline is not None and baseline.fallback_ratio == pytest.approx(0.3)
    measured = recovery_s(store, 20.0, 30.0, baseline, window_s=0.5, fallback_tolerance=0.05)
    assert measured == pytest.approx(1.3, abs=0.1)


@pytest.mark.parametrize("failback_s", [21.13, 22.61])
def test_noise_in_a_passing_criterion_does_not_move_the_instant(failback_s: float) -> None:
    """One slow request just before failback (p95 still passing) leaves the recovery instant alone."""
    segs = blackhole(10.6, failback_s) + [Seg(failback_s - 0.2, failback_s, "orders", FB, 5, 600)]
    store = store_for(segs, 0.1)
    baseline = baseline_of(store, 0, 10)
    measured = recovery_s(store, 20.0, 30.0, baseline, window_s=0.5, fallback_tolerance=0.05)
    assert measured == pytest.approx(failback_s - 20.0, abs=0.05)


def test_blackhole_checks_pass_and_fail_on_their_limits() -> None:
    """failover_time/recovery_time with the new fields pass within max_s and fail beyond it."""
    ctx = blackhole_ctx()
    base = {"fault": "orders-primary-blackhole", "endpoints": ["orders"], "window_s": 0.5}
    failover = {**base, "type": "failover_time", "max_latency_ms": 300}
    recovery = {**base, "type": "recovery_time", "fallback_tolerance": 0.05}
    ok_f, bad_f, ok_r, bad_r = parse_checks(
        [{**failover, "max_s": 1.0}, {**failover, "max_s": 0.3},
         {**recovery, "max_s": 2.0}, {**recovery, "max_s": 0.5}]
    )  # fmt: skip
    results = [spec.evaluate(ctx) for spec in (ok_f, bad_f, ok_r, bad_r)]
    assert [r.passed for r in results] == [True, False, True, False]
    assert results[1].measured == pytest.approx(0.57, abs=0.1)
    assert "(≤ 300 ms)" in results[1].detail and "breaching ≤ 0.3 s" in results[1].detail
    assert results[3].measured == pytest.approx(1.13, abs=0.1)
    assert "fallback ratio ≤ 5 %" in results[3].detail


def test_recovery_never_back_to_normal_fails() -> None:
    """Reads still on the fallback at the drill's end: recovery is 'never reached', failed."""
    (spec,) = parse_checks(
        [{"type": "recovery_time", "fallback_tolerance": 0.0, "max_s": 5, "fault": "blackhole"}]
    )
    result = spec.evaluate(blackhole_ctx(failback_s=30.0))
    assert not result.passed and result.measured is None
    assert "never reached" in result.detail


def test_new_fields_are_validated() -> None:
    """max_latency_ms must be positive and fallback_tolerance a ratio."""
    with pytest.raises(ValidationFailed):
        parse_checks([{"type": "failover_time", "max_s": 1, "max_latency_ms": 0}])
    with pytest.raises(ValidationFailed):
        parse_checks([{"type": "recovery_time", "max_s": 1, "fallback_tolerance": 1.5}])


def test_report_timings_follow_the_drills_checks() -> None:
    """The report's timing for a fault uses that fault's checks; defaults when there are none."""
    ctx = blackhole_ctx()
    (default,) = ctx.timings
    assert default.failover_s == 0.0 and default.recovery_s == 0.0  # plain criteria
    specs = parse_checks(
        [
            {"type": "failover_time", "fault": "blackhole", "max_s": 2, "window_s": 0.5,
             "max_latency_ms": 300},
            {"type": "recovery_time", "fault": "blackhole", "max_s": 2, "window_s": 0.5,
             "fallback_tolerance": 0.05},
        ]
    )  # fmt: skip
    (timing,) = report_timings(ctx, specs)
    assert timing.failover_s == pytest.approx(0.57, abs=0.1)
    assert timing.recovery_s == pytest.approx(1.13, abs=0.1)
    (only_failover,) = report_timings(ctx, specs[:1])
    assert only_failover.recovery_s == default.recovery_s
    assert report_timings(ctx, []) == ctx.timings


def test_timing_params_carry_the_new_criteria() -> None:
    """TimingParams.max_latency_ms / fallback_tolerance reach CheckContext.timings."""
    ctx = blackhole_ctx()
    ctx.timing_params = TimingParams(window_s=0.5, max_latency_ms=300, fallback_tolerance=0.05)
    (timing,) = ctx.timings
    assert timing.failover_s == pytest.approx(0.57, abs=0.1)
    assert timing.recovery_s == pytest.approx(1.13, abs=0.1)


@pytest.mark.parametrize("failback_s", [21.13, 21.44, 22.07])
def test_good_level_comes_from_after_the_transition(failback_s: float) -> None:
    """A first passing window still holding some fallback does not pull recovery early."""
    store = store_for(blackhole(10.6, failback_s), 0.1)
    baseline = baseline_of(store, 0, 10)
    measured = recovery_s(store, 20.0, 30.0, baseline, window_s=1.0, fallback_tolerance=0.05)
    assert measured == pytest.approx(failback_s - 20.0, abs=0.02)


def test_send_lag_moves_the_instant_to_when_requests_were_sent() -> None:
    """Open model, generator 0.2 s behind: failover is timed by actual send, not intended start."""
    rows: list = []
    recorder = Recorder(0.1, rows.extend)
    lag_us, open_s = 200_000, 10.6  # the breaker opened at 10.6 s (actual time)
    for i in range(1200):  # 40 rps of intended starts over 0-30 s
        intended = (i + 0.5) / 40
        sent = intended + (lag_us / 1e6 if 9 < intended < 12 else 0.0)
        raw_us = 700_000 if 10 <= sent < open_s else 20_000
        outcome = OK if sent < 10 else FB
        recorder.record(
            t_s=intended,
            endpoint="orders",
            outcome=outcome,
            latency_us=raw_us,
            intended_latency_us=raw_us + int((sent - intended) * 1e6),
        )
    recorder.flush_all()
    store = MetricStore.from_rows(rows, 0.1)
    assert send_lag_s(store, 100, 110) == pytest.approx(0.2, abs=0.005)
    measured = failover_s(store, 10.0, 20.0, window_s=0.5, max_latency_ms=300)
    assert measured == pytest.approx(open_s - 10.0, abs=0.05)
