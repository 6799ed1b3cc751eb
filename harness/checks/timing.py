"""Failover and recovery times per fault window, shared by the timing checks and the report.

Both are "settle times": from a start instant (the fault's ``applied_s`` for
failover, its ``reverted_s`` for recovery) to the moment a sliding window of
``window_s`` passes its criterion **for good** (every later window up to the
end instant, or for ``hold_s``, passes too). Windows with no requests neither
pass nor fail. If the first window already passes, the time is 0.

Resolution: windows step one bucket. The instant inside the last failing
window is interpolated with a step model: that window is a mix of the "bad"
level (the worst earlier window since the start instant; 1.0 when there is
none) and the "good" level (the first passing window), so
``t = window start + window_s * (f_last - f_good) / (f_bad - f_good)`` where
``f`` is the share of bad requests of each criterion that failed in that last
window (failover: failed, or slower than ``max_latency_ms``; recovery: errors,
requests slower than the latency limit, fallbacks); the latest instant wins.
Criteria that passed in that window are left out, so their noise cannot move
the instant. For a sharp transition under steady load (the open model) this
is exact up to arrival noise; it is never off by more than one window.

Optional criteria (both off by default, which keeps the plain behaviour):
``max_latency_ms`` for failover (a success slower than this counts as failed:
customers wait on a black-holed primary until the front's timeout) and
``fallback_tolerance`` for recovery (the fallback ratio must also be back
within the baseline's + tolerance: served normally again, not by the
replica/fallback). Use a fine ``bucket_s`` (0.1 or 0.25 s) and ``window_s`` of one or
a few buckets when times must agree with the target's own log within 0.25 s.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from harness.metrics.histogram import Latency
from harness.metrics.store import NON_SHED, SUCCESS, MetricStore, sliding_windows
from harness.results.model import FaultWindowRecord, Outcome, ResilienceTiming


class Verdict(NamedTuple):
    """One window: passed?, the bad fraction per criterion, and the criteria that failed."""

    passed: bool
    bad: dict[str, float]
    failed: frozenset[str] = frozenset()


# A window's judgement: None (no data), or a Verdict.
Judgement = Verdict | None


@dataclass(frozen=True)
class TimingParams:
    """How failover and recovery are judged (the report uses these defaults)."""

    window_s: float = 1.0
    min_success_ratio: float = 0.95
    latency_tolerance: float = 1.5
    error_tolerance: float = 0.01
    hold_s: float | None = None
    endpoints: frozenset[str] | None = None
    max_latency_ms: float | None = None  # failover: slower successes count as failed
    fallback_tolerance: float | None = None  # recovery: fallback ratio ≤ baseline's + this


@dataclass(frozen=True)
class Baseline:
    """The reference recovery is judged against: the baseline phase's p95, error and fallback ratio."""

    p95_ms: float
    error_ratio: float
    fallback_ratio: float = 0.0


def window_buckets(window_s: float, bucket_s: float) -> int | None:
    """``window_s`` in buckets, or None when it is not a whole multiple of ``bucket_s`` (≥ 1)."""
    k = round(window_s / bucket_s)
    if k < 1 or abs(k * bucket_s - window_s) > 1e-6 * max(window_s, 1.0):
        return None
    return k


def baseline_of(
    store: MetricStore, start_s: float, end_s: float, endpoints: Collection[str] | None = None
) -> Baseline | None:
    """The p95 (all but shed), error and fallback ratio of a phase, or None without requests."""
    b0, b1 = store.bucket_range(start_s, end_s)
    counts = store.counts(b0, b1, endpoints)
    total = sum(counts.values())
    p95 = store.latency(b0, b1, endpoints).percentile_ms(95.0)
    if not total or p95 is None:
        return None
    return Baseline(
        p95_ms=p95,
        error_ratio=counts[Outcome.ERROR] / total,
        fallback_ratio=counts[Outcome.FALLBACK] / total,
    )


def _settle_time(
    store: MetricStore,
    start_s: float,
    until_s: float,
    window_s: float,
    hold_s: float | None,
    judge: Callable[[int, int], Judgement],
    endpoints: Collection[str] | None = None,
) -> float | None:
    """Seconds from ``start_s`` until windows pass for good; None if never, 0 if at once.

    The transition is found in the buckets' time (the intended start under the open
    model) and then moved by the mean send lag around it (see :func:`send_lag_s`).
    """
    bucket_s = store.bucket_s
    k = window_buckets(window_s, bucket_s) or max(1, round(window_s / bucket_s))
    b_start, b_end = store.bucket_range(start_s, max(until_s, start_s))
    spans = sliding_windows(b_start, b_end, k)
    verdicts = [judge(w0, w1) for w0, w1 in spans]
    hold_n = len(spans) if hold_s is None else max(1, round(hold_s / bucket_s))
    first = _first_good(verdicts, hold_n)
    if first is None:
        return None
    if first == 0:
        return 0.0
    instant = _interpolate(spans, verdicts, first, k * bucket_s, bucket_s)
    b = math.floor(instant / bucket_s)
    instant += send_lag_s(store, max(b - 1, b_start), max(b + 2, b_start + 1), endpoints)
    return max(0.0, instant - start_s)


def send_lag_s(
    store: MetricStore, b0: int, b1: int, endpoints: Collection[str] | None = None
) -> float:
    """Mean delay (s) from intended to actual start of the requests in ``[b0, b1)``.

    Under the open model a request sits in the bucket of its *intended* start, but the
    target saw it when it was actually sent; when the load generator falls behind (a
    busy machine) that is later. corrected - raw latency of a request is exactly that
    delay, so the difference of the means is the mean delay. 0 without corrected
    histograms (closed model: buckets already hold actual starts).
    """
    if not store.has_corrected(b0, b1):
        return 0.0
    raw = store.latency(b0, b1, endpoints, outcomes=None)
    corrected = store.latency(b0, b1, endpoints, outcomes=None, corrected=True)
    if not raw.count or raw.count != corrected.count:
        return 0.0
    return max(0.0, (_mean_ms(corrected) - _mean_ms(raw)) / 1000.0)


_MEAN_QUANTILES = [(i + 0.5) / 2 for i in range(200)]  # midpoints of 200 equal slices, in %


def _mean_ms(latency: Latency) -> float:
    """Mean latency (ms) from 200 quantiles: HdrHistogram precision, enough for a lag."""
    values = [v for v in latency.percentiles_ms(_MEAN_QUANTILES) if v is not None]
    return sum(values) / len(values) if values else 0.0


def _first_good(verdicts: Sequence[Judgement], hold_n: int) -> int | None:
    """Index of the first passing window after which no window fails (within ``hold_n``)."""
    for i, verdict in enumerate(verdicts):
        if verdict is None or not verdict.passed:
            continue
        tail = verdicts[i : i + hold_n]
        if all(v is None or v.passed for v in tail):
            return i
    return None


def _interpolate(
    spans: Sequence[tuple[int, int]],
    verdicts: Sequence[Judgement],
    first: int,
    window_s: float,
    bucket_s: float,
) -> float:
    """The instant (s) the transition happened, inside the last window before ``first``.

    The good level is read from the window that starts where the last failing window
    ends (wholly after the transition) when it passes; the first passing window may
    still hold some of the bad level (up to the threshold), which would pull the
    instant early by as much as threshold x window.
    """
    last = first - 1
    while last >= 0 and verdicts[last] is None:
        last -= 1
    if last < 0 or verdicts[first] is None:
        return spans[first][0] * bucket_s
    k = round(window_s / bucket_s)
    after = verdicts[last + k] if last + k < len(verdicts) else None
    good = after if after is not None and after.passed else verdicts[first]
    t_last = spans[last][0] * bucket_s
    earlier = [v for v in verdicts[:last] if v is not None]
    failing = verdicts[last]
    instants = []
    for criterion, f_last in failing.bad.items():
        if failing.failed and criterion not in failing.failed:
            continue  # passed in the last failing window: not what held recovery back
        f_good = good.bad.get(criterion, 0.0)
        f_bad = max((v.bad.get(criterion, 0.0) for v in earlier), default=1.0)
        f_bad = max(f_bad, f_last)
        if f_bad - f_good <= 1e-12:
            continue
        share = min(1.0, max(0.0, (f_last - f_good) / (f_bad - f_good)))
        instants.append(t_last + share * window_s)
    return max(instants, default=spans[first][0] * bucket_s)


def failover_s(
    store: MetricStore,
    applied_s: float,
    until_s: float,
    *,
    window_s: float = 1.0,
    min_success_ratio: float = 0.95,
    endpoints: Collection[str] | None = None,
    hold_s: float | None = None,
    max_latency_ms: float | None = None,
) -> float | None:
    """Seconds from ``applied_s`` until the success ratio holds ≥ ``min_success_ratio``.

    Success ratio: (ok + fallback + degraded) / every outcome but shed. With
    ``max_latency_ms``, a success slower than that (raw latency, HdrHistogram
    bucket wholly above the limit) does not count as a success.
    """
    scratch = Latency()

    def judge(w0: int, w1: int) -> Judgement:
        counts = store.counts(w0, w1, endpoints, NON_SHED)
        total = sum(counts.values())
        if not total:
            return None
        successes = sum(counts[o] for o in SUCCESS)
        if max_latency_ms is not None and successes:
            latency = store.latency(w0, w1, endpoints, SUCCESS, into=scratch)
            successes -= round((latency.fraction_above_ms(max_latency_ms) or 0.0) * latency.count)
        success = successes / total
        passed = success >= min_success_ratio
        return Verdict(
            passed, {"failed": 1.0 - success}, frozenset() if passed else frozenset({"failed"})
        )

    return _settle_time(store, applied_s, until_s, window_s, hold_s, judge, endpoints)


def recovery_s(
    store: MetricStore,
    reverted_s: float,
    until_s: float,
    baseline: Baseline,
    *,
    window_s: float = 1.0,
    latency_tolerance: float = 1.5,
    error_tolerance: float = 0.01,
    endpoints: Collection[str] | None = None,
    hold_s: float | None = None,
    fallback_tolerance: float | None = None,
) -> float | None:
    """Seconds from ``reverted_s`` until p95 and error ratio hold at the baseline's level.

    A window passes when p95 ≤ ``latency_tolerance`` x baseline p95 and
    error ratio ≤ baseline error ratio + ``error_tolerance`` (and, with
    ``fallback_tolerance``, fallback ratio ≤ baseline fallback ratio + it).
    """
    limit_ms = baseline.p95_ms * latency_tolerance
    max_error = baseline.error_ratio + error_tolerance
    max_fallback = (
        None if fallback_tolerance is None else baseline.fallback_ratio + fallback_tolerance
    )
    scratch = Latency()

    def judge(w0: int, w1: int) -> Judgement:
        counts = store.counts(w0, w1, endpoints)
        total = sum(counts.values())
        latency = store.latency(w0, w1, endpoints, into=scratch)
        if not total or not latency.count:
            return None
        error = counts[Outcome.ERROR] / total
        p95 = latency.percentile_ms(95.0)
        bad = {"error": error, "slow": latency.fraction_above_ms(limit_ms) or 0.0}
        failed = set()
        if p95 is None or p95 > limit_ms:
            failed.add("slow")
        if error > max_error:
            failed.add("error")
        if max_fallback is not None:
            bad["fallback"] = counts[Outcome.FALLBACK] / total
            if bad["fallback"] > max_fallback:
                failed.add("fallback")
        return Verdict(not failed, bad, frozenset(failed))

    return _settle_time(store, reverted_s, until_s, window_s, hold_s, judge, endpoints)


def fault_failover_s(
    store: MetricStore, fault: FaultWindowRecord, duration_s: float, params: TimingParams
) -> float | None:
    """Failover time of one applied fault window, judged with ``params``."""
    until_s = fault.reverted_s if fault.reverted_s is not None else duration_s
    return failover_s(
        store,
        fault.applied_s,
        until_s,
        window_s=params.window_s,
        min_success_ratio=params.min_success_ratio,
        endpoints=params.endpoints,
        hold_s=params.hold_s,
        max_latency_ms=params.max_latency_ms,
    )


def fault_recovery_s(
    store: MetricStore,
    fault: FaultWindowRecord,
    duration_s: float,
    baseline: Baseline,
    params: TimingParams,
) -> float | None:
    """Recovery time of one reverted fault window against ``baseline``, judged with ``params``."""
    return recovery_s(
        store,
        fault.reverted_s,
        duration_s,
        baseline,
        window_s=params.window_s,
        latency_tolerance=params.latency_tolerance,
        error_tolerance=params.error_tolerance,
        endpoints=params.endpoints,
        hold_s=params.hold_s,
        fallback_tolerance=params.fallback_tolerance,
    )


def resilience_timings(
    store: MetricStore,
    faults: Sequence[FaultWindowRecord],
    *,
    duration_s: float,
    baseline: Baseline | None,
    params: TimingParams = TimingParams(),
) -> list[ResilienceTiming]:
    """Failover and recovery for every applied fault window (None where never reached)."""
    out = []
    for fault in faults:
        if fault.applied_s is None:
            continue
        recovery = None
        if fault.reverted_s is not None and baseline is not None:
            recovery = fault_recovery_s(store, fault, duration_s, baseline, params)
        out.append(
            ResilienceTiming(
                fault=fault.fault,
                fault_start_s=fault.applied_s,
                fault_end_s=fault.reverted_s,
                failover_s=fault_failover_s(store, fault, duration_s, params),
                recovery_s=recovery,
            )
        )
    return out
