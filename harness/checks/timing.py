"""Failover and recovery times per fault window, shared by the timing checks and the report.

Both are "settle times": from a start instant (the fault's ``applied_s`` for
failover, its ``reverted_s`` for recovery) to the moment a sliding window of
``window_s`` passes its criteria **for good** (every later window up to the
end instant, or for ``hold_s``, passes too). Windows without data neither pass
nor fail; when no window has data the time is "no data" (:class:`Settled` says
why), never 0. If the first window already passes, the time is 0.

Criteria count *bad requests* per bucket, so windows are sums of buckets:

- failover: ``failed`` - errors, and with ``max_latency_ms`` successes slower
  than that; a window passes when the bad share is ≤ 1 - ``min_success_ratio``.
- recovery (docs/checks.md, "What recovered means"): ``slow`` - requests above
  their endpoint's baseline limit, max(``latency_tolerance`` x p95, p95 +
  ``latency_slack_ms``); ``error``; and with ``fallback_tolerance``
  ``fallback``. A window with fewer than ``min_requests`` requests is no data;
  otherwise it fails a criterion only when its bad count is significantly
  above the allowed share (one-sided binomial test at ``SIGNIFICANCE``): 5 %
  for ``slow`` (by definition at most 5 % of a healthy endpoint's requests
  exceed its p95), the baseline's ratio + tolerance for the others.

The instant inside the last failing window comes from the buckets, not from
window aggregates: per criterion that failed there, a step model (bad level
before the instant, good level after) is fitted to the buckets of the last
failing and the first passing window (see :func:`_step_instant`); the latest
instant wins. The good level is read from the window wholly after the last
failing one, the bad level from the buckets wholly inside the bad stretch
(for failover, after the fault started); a burst too short to have such a
bucket is taken as wholly bad (level 1). So the instant is where the last bad
requests were, exact up to arrival noise and one bucket's share estimate.
Use a fine ``bucket_s`` (0.1 or 0.25 s) when times must agree with the
target's own log within 0.25 s.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import accumulate
from typing import NamedTuple

from harness.metrics.histogram import Latency
from harness.metrics.store import NON_SHED, SUCCESS, MetricStore, sliding_windows
from harness.results.model import FaultWindowRecord, Outcome, ResilienceTiming

SIGNIFICANCE = 0.001  # a recovery window fails only when this unlikely under the allowed share
EXPECTED_SLOW_SHARE = 0.05  # at most 5 % of a healthy endpoint's requests exceed its p95
POOLED_WINDOWS = 2  # recovered "to the end" needs at least this many windows of evidence


class WindowJudgement(NamedTuple):
    """One window: passed?, the bad share per criterion, and the criteria that failed."""

    passed: bool
    bad: dict[str, float]
    failed: frozenset[str] = frozenset()


# A window's judgement: None (no data), or a WindowJudgement.
Judgement = WindowJudgement | None


class Settled(NamedTuple):
    """A settle time (s), or None with ``no_data`` saying why there is no figure.

    ``s`` None and ``no_data`` None: there was data, and it never settled.
    """

    s: float | None
    no_data: str | None = None


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
    latency_slack_ms: float = 5.0  # recovery: a request is slow only above p95 + this too
    min_requests: int = 10  # recovery: windows with fewer requests are no data


@dataclass(frozen=True)
class Baseline:
    """The reference recovery is judged against: the baseline phase's p95 (overall and per
    endpoint), error and fallback ratio."""

    p95_ms: float
    error_ratio: float
    fallback_ratio: float = 0.0
    endpoint_p95_ms: Mapping[str, float] = field(default_factory=dict)

    def limit_ms(self, endpoint: str, tolerance: float, slack_ms: float) -> float:
        """Latency above which a request of ``endpoint`` is slow (overall p95 if unseen)."""
        p95 = self.endpoint_p95_ms.get(endpoint, self.p95_ms)
        return max(p95 * tolerance, p95 + slack_ms)


def window_buckets(window_s: float, bucket_s: float) -> int | None:
    """``window_s`` in buckets, or None when it is not a whole multiple of ``bucket_s`` (≥ 1)."""
    k = round(window_s / bucket_s)
    if k < 1 or abs(k * bucket_s - window_s) > 1e-6 * max(window_s, 1.0):
        return None
    return k


def baseline_of(
    store: MetricStore, start_s: float, end_s: float, endpoints: Collection[str] | None = None
) -> Baseline | None:
    """The p95s (all but shed), error and fallback ratio of a phase, or None without requests."""
    b0, b1 = store.bucket_range(start_s, end_s)
    counts = store.counts(b0, b1, endpoints)
    total = sum(counts.values())
    p95 = store.latency(b0, b1, endpoints).percentile_ms(95.0)
    if not total or p95 is None:
        return None
    per_endpoint = {}
    for endpoint in _endpoints(store, endpoints):
        endpoint_p95 = store.latency(b0, b1, [endpoint]).percentile_ms(95.0)
        if endpoint_p95 is not None:
            per_endpoint[endpoint] = endpoint_p95
    return Baseline(
        p95_ms=p95,
        error_ratio=counts[Outcome.ERROR] / total,
        fallback_ratio=counts[Outcome.FALLBACK] / total,
        endpoint_p95_ms=per_endpoint,
    )


def _endpoints(store: MetricStore, endpoints: Collection[str] | None) -> list[str]:
    return [e for e in store.endpoints if endpoints is None or e in endpoints]


# -- per-bucket tallies and window judgements -------------------------------------------


@dataclass(frozen=True)
class _Criterion:
    """A kind of bad request and the share of them a window may show.

    ``statistical``: the window fails only when its bad count is significantly above
    ``max_share`` (one-sided binomial test); otherwise when the share is above it.
    """

    name: str
    max_share: float
    statistical: bool


@dataclass
class _Tallies:
    """Per bucket from ``b0``: every request, and per criterion the judged and bad counts."""

    b0: int
    total: list[int]
    judged: dict[str, list[int]]
    bad: dict[str, list[int]]

    def __post_init__(self) -> None:
        self._sums = {
            name: (_prefix(self.judged[name]), _prefix(self.bad[name])) for name in self.judged
        }
        self._total = _prefix(self.total)

    def window(self, w0: int, w1: int) -> tuple[int, dict[str, tuple[int, int]]]:
        """Requests in buckets ``[w0, w1)`` and (judged, bad) per criterion."""
        i0, i1 = w0 - self.b0, w1 - self.b0
        per = {n: (j[i1] - j[i0], b[i1] - b[i0]) for n, (j, b) in self._sums.items()}
        return self._total[i1] - self._total[i0], per

    def bucket(self, name: str, b: int) -> tuple[int, int]:
        """(judged, bad) of criterion ``name`` in bucket ``b`` ((0, 0) outside the tallies)."""
        i = b - self.b0
        if not 0 <= i < len(self.total):
            return 0, 0
        return self.judged[name][i], self.bad[name][i]


def _prefix(values: list[int]) -> list[int]:
    return [0, *accumulate(values)]


def _judge_window(
    tallies: _Tallies, criteria: Sequence[_Criterion], min_requests: int
) -> Callable[[int, int], Judgement]:
    def judge(w0: int, w1: int) -> Judgement:
        total, per = tallies.window(w0, w1)
        if total < max(min_requests, 1):
            return None
        bad, failed = {}, set()
        for c in criteria:
            judged, count = per[c.name]
            if not judged:
                continue
            bad[c.name] = count / judged
            if _too_many(count, judged, c):
                failed.add(c.name)
        if not bad:
            return None
        return WindowJudgement(not failed, bad, frozenset(failed))

    return judge


def _too_many(bad: int, judged: int, criterion: _Criterion) -> bool:
    if criterion.statistical:
        return bad >= critical_count(judged, criterion.max_share)
    return bad > judged * criterion.max_share + 1e-9


@lru_cache(maxsize=8192)
def critical_count(n: int, share: float) -> int:
    """Smallest x with P(Binomial(n, share) ≥ x) < SIGNIFICANCE; n + 1 when there is none.

    A window of ``n`` requests whose allowed bad share is ``share`` fails at this many.
    """
    if share <= 0.0:
        return 1
    if share >= 1.0:
        return n + 1
    mode = math.floor((n + 1) * share)
    log_pmf = (
        math.lgamma(n + 1)
        - math.lgamma(mode + 1)
        - math.lgamma(n - mode + 1)
        + mode * math.log(share)
        + (n - mode) * math.log1p(-share)
    )
    pmf = [math.exp(log_pmf)]  # P(X = mode), P(X = mode + 1), ...
    ratio = share / (1.0 - share)
    for x in range(mode, n):
        nxt = pmf[-1] * (n - x) / (x + 1) * ratio
        if nxt < SIGNIFICANCE * 1e-9:
            break
        pmf.append(nxt)
    tail = 0.0
    critical = mode + len(pmf)  # beyond the last term kept the tail is negligible (or x > n)
    for i in range(len(pmf) - 1, -1, -1):  # from the top down: tail = P(X ≥ mode + i)
        tail += pmf[i]
        if tail >= SIGNIFICANCE:
            return critical
        critical = mode + i
    return critical


def _failover_tallies(
    store: MetricStore, endpoints: Collection[str] | None, max_latency_ms: float | None
) -> Callable[[int, int], _Tallies]:
    """Per bucket: requests but shed, and those failed (or successes slower than the limit)."""

    def make(b0: int, b1: int) -> _Tallies:
        scratch = Latency()
        total, bad = [], []
        for b, counts in enumerate(store.bucket_counts(b0, b1, endpoints), start=b0):
            judged = sum(counts[o] for o in NON_SHED)
            successes = sum(counts[o] for o in SUCCESS)
            slow = 0
            if max_latency_ms is not None and successes:
                latency = store.latency(b, b + 1, endpoints, SUCCESS, into=scratch)
                slow = round((latency.fraction_above_ms(max_latency_ms) or 0.0) * latency.count)
            total.append(judged)
            bad.append(judged - successes + slow)
        return _Tallies(b0, total, {"failed": total}, {"failed": bad})

    return make


def _recovery_tallies(
    store: MetricStore,
    endpoints: Collection[str] | None,
    baseline: Baseline,
    latency_tolerance: float,
    latency_slack_ms: float,
    with_fallback: bool,
) -> Callable[[int, int], _Tallies]:
    """Per bucket: every request, errors, fallbacks, and latencies above their endpoint's limit."""

    def make(b0: int, b1: int) -> _Tallies:
        names = _endpoints(store, endpoints)
        limits = {e: baseline.limit_ms(e, latency_tolerance, latency_slack_ms) for e in names}
        scratch = Latency()
        series = store.bucket_counts(b0, b1, endpoints)
        timed, slow = [0] * len(series), [0] * len(series)
        for i, counts in enumerate(series):
            if not any(counts.values()):
                continue
            for endpoint in names:
                latency = store.latency(b0 + i, b0 + i + 1, [endpoint], into=scratch)
                if latency.count:
                    timed[i] += latency.count
                    above = latency.fraction_above_ms(limits[endpoint]) or 0.0
                    slow[i] += round(above * latency.count)
        total = [sum(c.values()) for c in series]
        judged = {"slow": timed, "error": total}
        bad = {"slow": slow, "error": [c[Outcome.ERROR] for c in series]}
        if with_fallback:
            judged["fallback"] = total
            bad["fallback"] = [c[Outcome.FALLBACK] for c in series]
        return _Tallies(b0, total, judged, bad)

    return make


# -- settle time ---------------------------------------------------------------------


def _settle_time(
    store: MetricStore,
    start_s: float,
    until_s: float,
    window_s: float,
    hold_s: float | None,
    tallies_for: Callable[[int, int], _Tallies],
    criteria: Sequence[_Criterion],
    *,
    min_requests: int = 1,
    pooled: bool = False,
    bad_before_start: bool,
    endpoints: Collection[str] | None = None,
) -> Settled:
    """Seconds from ``start_s`` until windows pass for good; None if never, 0 if at once.

    ``bad_before_start``: the level before ``start_s`` is the bad one (recovery: the
    fault was on) rather than the good one (failover: the fault was not yet applied).
    The transition is found in the buckets' time (the intended start under the open
    model) and then moved by the mean send lag around it (see :func:`send_lag_s`).
    """
    bucket_s = store.bucket_s
    k = window_buckets(window_s, bucket_s) or max(1, round(window_s / bucket_s))
    b_start, b_end = store.bucket_range(start_s, max(until_s, start_s))
    spans = sliding_windows(b_start, b_end, k)
    between = f"between {start_s:g} and {max(until_s, start_s):g} s"
    if not spans:
        return Settled(None, f"no data: no time to judge {between}")
    t0 = max(0, b_start - k)
    tallies = tallies_for(t0, max(b_end, spans[-1][1]))
    judge = _judge_window(tallies, criteria, min_requests)
    verdicts = [judge(w0, w1) for w0, w1 in spans]
    if all(v is None for v in verdicts):
        if min_requests > 1 and tallies.window(b_start, b_end)[0]:
            return Settled(
                None,
                f"no data: fewer than {min_requests} requests in every {window_s:g} s window "
                f"{between} - widen window_s or lower min_requests",
            )
        return Settled(None, f"no data: no request {between}")
    hold_n = len(spans) if hold_s is None else max(1, round(hold_s / bucket_s))

    def holds(i: int) -> bool:
        """Pooled over the windows that must hold, the stretch passes too (recovery)."""
        w0, w1 = spans[i][0], spans[min(i + hold_n, len(spans)) - 1][1]
        if hold_s is None and w1 - w0 < POOLED_WINDOWS * k:
            return False  # too short a stretch before the end to tell
        pooled = judge(w0, w1)
        return pooled is not None and pooled.passed

    first = _first_good(verdicts, hold_n, holds if pooled else None)
    if first is None:
        return Settled(None)
    if first == 0:
        return Settled(0.0)
    bad_from = t0 if bad_before_start else math.ceil(start_s / bucket_s - 1e-9)
    instant = _interpolate(tallies, spans, verdicts, first, k, bucket_s, start_s, bad_from)
    b = math.floor(instant / bucket_s)
    instant += send_lag_s(store, max(b - 1, b_start), max(b + 2, b_start + 1), endpoints)
    return Settled(max(0.0, instant - start_s))


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


def _first_good(
    verdicts: Sequence[Judgement], hold_n: int, holds: Callable[[int], bool] | None = None
) -> int | None:
    """Index of the first passing window after which no window fails (within ``hold_n``)
    and, with ``holds``, for which ``holds(index)`` is true."""
    for i, verdict in enumerate(verdicts):
        if verdict is None or not verdict.passed:
            continue
        tail = verdicts[i : i + hold_n]
        if all(v is None or v.passed for v in tail) and (holds is None or holds(i)):
            return i
    return None


def _interpolate(
    tallies: _Tallies,
    spans: Sequence[tuple[int, int]],
    verdicts: Sequence[Judgement],
    first: int,
    k: int,
    bucket_s: float,
    start_s: float,
    bad_from: int,
) -> float:
    """The instant (s) the transition happened: the latest of the failed criteria's steps.

    The good level of a criterion is its share in the window that starts where the last
    failing window ends (wholly after the transition) when it passes, else in the first
    passing window; the step itself is fitted to the buckets (:func:`_step_instant`).
    """
    last = first - 1
    while last >= 0 and verdicts[last] is None:
        last -= 1
    failing, passing = verdicts[last] if last >= 0 else None, verdicts[first]
    if failing is None or passing is None:
        return spans[first][0] * bucket_s
    after = verdicts[last + k] if last + k < len(verdicts) else None
    good = after if after is not None and after.passed else passing
    instants = []
    for criterion in failing.failed or failing.bad:
        step = _Step(tallies, criterion, bucket_s, start_s, bad_from)
        instant = step.instant(
            good.bad.get(criterion, 0.0), failing.bad[criterion], spans[last][0], spans[first][1], k
        )
        if instant is not None:
            instants.append(instant)
    return max(instants, default=spans[first][0] * bucket_s)


@dataclass(frozen=True)
class _Step:
    """A step model of one criterion's bad share over the buckets: ``bad`` before, ``good`` after.

    ``bad_from``: the first bucket the bad level may be read from (failover: the first
    bucket wholly after the fault started; recovery: the fault's last window too).
    """

    tallies: _Tallies
    criterion: str
    bucket_s: float
    start_s: float
    bad_from: int

    def instant(self, good: float, guess: float, lo: int, hi: int, k: int) -> float | None:
        """The step's instant (s) in buckets ``[lo, hi)``; None without contrast.

        The split (first good bucket) maximises the cumulative excess of bad requests over
        the midpoint of the two levels (the least-squares change point for known levels);
        the bad level is then re-read from up to ``k`` buckets wholly before the split's
        partial bucket (1.0 if there is none: a burst shorter than that is taken as wholly
        bad), and the split found again. Inside the split, each of the two boundary
        buckets adds its share of the bad level (step model with even arrivals); when the
        traffic has a gap at the split, the first bucket with requests after it does.
        """
        level, split = guess, lo
        for _ in range(2):
            if level - good <= 1e-9:
                return None
            split = self._split((level + good) / 2, lo, hi)
            level = self._level(max(self.bad_from, split - 1 - k), split - 1)
        if level - good <= 1e-9:
            return None
        before = split - 1
        base = before * self.bucket_s
        if before < self.bad_from:  # the partial bucket of the fault's start: good before it
            base = max(self.start_s, base)
        instant = base + self.bucket_s * self._share(before, good, level, 1.0)
        after = split  # the first bucket with requests from the split on (gaps in traffic)
        while after < hi - 1 and not self.tallies.bucket(self.criterion, after)[0]:
            after += 1
        tail = self._share(after, good, level, 0.0)
        if tail > 0.0:
            instant = (instant if after == split else after * self.bucket_s) + self.bucket_s * tail
        return min(max(instant, self.start_s), hi * self.bucket_s)

    def _split(self, mid: float, lo: int, hi: int) -> int:
        best, best_sum, running = lo, 0.0, 0.0
        for b in range(lo, hi):
            judged, bad = self.tallies.bucket(self.criterion, b)
            running += bad - mid * judged
            if running > best_sum + 1e-9:
                best, best_sum = b + 1, running
        return best

    def _level(self, b0: int, b1: int) -> float:
        judged = bad = 0
        for b in range(b0, b1):
            j, x = self.tallies.bucket(self.criterion, b)
            judged, bad = judged + j, bad + x
        return bad / judged if judged else 1.0

    def _share(self, b: int, good: float, level: float, empty: float) -> float:
        judged, bad = self.tallies.bucket(self.criterion, b)
        if not judged:
            return empty
        return min(1.0, max(0.0, (bad / judged - good) / (level - good)))


# -- failover and recovery -------------------------------------------------------------


def failover(
    store: MetricStore,
    applied_s: float,
    until_s: float,
    *,
    window_s: float = 1.0,
    min_success_ratio: float = 0.95,
    endpoints: Collection[str] | None = None,
    hold_s: float | None = None,
    max_latency_ms: float | None = None,
) -> Settled:
    """Seconds from ``applied_s`` until the success ratio holds ≥ ``min_success_ratio``.

    Success ratio: (ok + fallback + degraded) / every outcome but shed. With
    ``max_latency_ms``, a success slower than that (raw latency, HdrHistogram
    bucket wholly above the limit) does not count as a success.
    """
    return _settle_time(
        store,
        applied_s,
        until_s,
        window_s,
        hold_s,
        _failover_tallies(store, endpoints, max_latency_ms),
        [_Criterion("failed", 1.0 - min_success_ratio, statistical=False)],
        bad_before_start=False,
        endpoints=endpoints,
    )


def failover_s(store: MetricStore, applied_s: float, until_s: float, **kwargs) -> float | None:
    """:func:`failover` in seconds (None: never, or no data)."""
    return failover(store, applied_s, until_s, **kwargs).s


def recovery(
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
    latency_slack_ms: float = 5.0,
    min_requests: int = 10,
) -> Settled:
    """Seconds from ``reverted_s`` until latency, errors (and fallbacks) hold at the baseline's.

    A window of at least ``min_requests`` requests passes unless significantly more
    than 5 % of its requests are slower than their endpoint's baseline limit,
    max(``latency_tolerance`` x p95, p95 + ``latency_slack_ms``), or significantly more
    than the baseline ratio + ``error_tolerance`` are errors (and, with
    ``fallback_tolerance``, fallbacks above the baseline ratio + it).
    """
    criteria = [
        _Criterion("slow", EXPECTED_SLOW_SHARE, statistical=True),
        _Criterion("error", baseline.error_ratio + error_tolerance, statistical=True),
    ]
    if fallback_tolerance is not None:
        criteria.append(
            _Criterion("fallback", baseline.fallback_ratio + fallback_tolerance, statistical=True)
        )
    tallies = _recovery_tallies(
        store,
        endpoints,
        baseline,
        latency_tolerance,
        latency_slack_ms,
        with_fallback=fallback_tolerance is not None,
    )
    return _settle_time(
        store,
        reverted_s,
        until_s,
        window_s,
        hold_s,
        tallies,
        criteria,
        min_requests=min_requests,
        pooled=True,
        bad_before_start=True,
        endpoints=endpoints,
    )


def recovery_s(
    store: MetricStore, reverted_s: float, until_s: float, baseline: Baseline, **kwargs
) -> float | None:
    """:func:`recovery` in seconds (None: never, or no data)."""
    return recovery(store, reverted_s, until_s, baseline, **kwargs).s


def fault_failover(
    store: MetricStore, fault: FaultWindowRecord, duration_s: float, params: TimingParams
) -> Settled:
    """Failover time of one applied fault window, judged with ``params``."""
    until_s = fault.reverted_s if fault.reverted_s is not None else duration_s
    return failover(
        store,
        fault.applied_s,
        until_s,
        window_s=params.window_s,
        min_success_ratio=params.min_success_ratio,
        endpoints=params.endpoints,
        hold_s=params.hold_s,
        max_latency_ms=params.max_latency_ms,
    )


def fault_recovery(
    store: MetricStore,
    fault: FaultWindowRecord,
    duration_s: float,
    baseline: Baseline,
    params: TimingParams,
) -> Settled:
    """Recovery time of one reverted fault window against ``baseline``, judged with ``params``."""
    return recovery(
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
        latency_slack_ms=params.latency_slack_ms,
        min_requests=params.min_requests,
    )


def resilience_timings(
    store: MetricStore,
    faults: Sequence[FaultWindowRecord],
    *,
    duration_s: float,
    baseline: Baseline | None,
    params: TimingParams = TimingParams(),
) -> list[ResilienceTiming]:
    """Failover and recovery for every applied fault window (None where never reached or no data)."""
    out = []
    for fault in faults:
        if fault.applied_s is None:
            continue
        if fault.reverted_s is None:
            recovery_ = Settled(None, f"no data: fault '{fault.fault}' was never reverted")
        elif baseline is None:
            recovery_ = Settled(None, "no data: no baseline phase with requests to recover to")
        else:
            recovery_ = fault_recovery(store, fault, duration_s, baseline, params)
        failover_ = fault_failover(store, fault, duration_s, params)
        out.append(
            ResilienceTiming(
                fault=fault.fault,
                fault_start_s=fault.applied_s,
                fault_end_s=fault.reverted_s,
                failover_s=failover_.s,
                recovery_s=recovery_.s,
                failover_no_data=failover_.no_data,
                recovery_no_data=recovery_.no_data,
            )
        )
    return out
