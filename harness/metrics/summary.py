"""Phase summaries and the drill's time series, built from a :class:`MetricStore`.

Ratios divide by every request, shed included (``error_ratio = error / total``).
Percentiles and max use every outcome **except shed**: a 429 answered in 1 ms
says nothing about how fast customers were served and must not flatter latency.
Errors are broken down by kind, per phase and per endpoint: the ``TOP_ERROR_KINDS``
most frequent, the rest summed as ``other``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from harness.metrics.histogram import Latency
from harness.metrics.recorder import capped
from harness.metrics.store import MetricStore
from harness.results.model import (
    EndpointSeries,
    EndpointSummary,
    ErrorCount,
    Outcome,
    PhaseSummary,
    TimeSeries,
)

PERCENTILES = (50.0, 95.0, 99.0)
MAX_ENDPOINT_SERIES = 12  # endpoints with their own series in a report, the busiest first
TOP_ERROR_KINDS = 5  # per phase and per endpoint; the rest is summed as "other"


@dataclass(frozen=True)
class PhaseSpan:
    """A phase as planned: its name, where it starts and ends (seconds from drill start)."""

    name: str
    start_s: float
    end_s: float
    faults: list[str] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def ratio(part: int, whole: int) -> float:
    """``part / whole``, 0.0 when there is nothing to divide."""
    return part / whole if whole else 0.0


def _latency_fields(latency: Latency) -> dict[str, float | None]:
    p50, p95, p99 = latency.percentiles_ms(PERCENTILES)
    return {"p50_ms": p50, "p95_ms": p95, "p99_ms": p99, "max_ms": latency.max_ms()}


def top_errors(counts: dict[str, int], limit: int = TOP_ERROR_KINDS) -> list[ErrorCount]:
    """The ``limit`` most frequent error kinds, largest first, then ``other`` (the rest)."""
    return [ErrorCount(kind=k, count=n) for k, n in capped(counts, limit).items()]


def _endpoint_summary(
    store: MetricStore, b0: int, b1: int, endpoint: str, duration_s: float, scratch: Latency
) -> EndpointSummary:
    counts = store.counts(b0, b1, endpoints={endpoint})
    total = sum(counts.values())
    latency = store.latency(b0, b1, endpoints={endpoint}, into=scratch)
    return EndpointSummary(
        requests=total,
        rps=total / duration_s if duration_s > 0 else 0.0,
        outcome_counts=counts,
        errors=top_errors(store.error_kinds(b0, b1, endpoints={endpoint})),
        **_latency_fields(latency),
    )


def phase_summary(store: MetricStore, phase: PhaseSpan) -> PhaseSummary:
    """Figures for one phase: all endpoints together, and each endpoint."""
    b0, b1 = store.bucket_range(phase.start_s, phase.end_s)
    duration_s = phase.duration_s
    counts = store.counts(b0, b1)
    total = sum(counts.values())
    scratch = Latency()
    latency_fields = _latency_fields(store.latency(b0, b1, into=scratch))
    p99_corrected = None
    if store.has_corrected(b0, b1):
        p99_corrected = store.latency(b0, b1, corrected=True, into=scratch).percentile_ms(99.0)
    endpoints = {
        name: _endpoint_summary(store, b0, b1, name, duration_s, scratch)
        for name in store.endpoints
        if sum(store.counts(b0, b1, endpoints={name}).values())
    }
    return PhaseSummary(
        name=phase.name,
        start_s=phase.start_s,
        end_s=phase.end_s,
        faults=list(phase.faults),
        requests=total,
        rps=total / duration_s if duration_s > 0 else 0.0,
        outcome_counts=counts,
        error_ratio=ratio(counts[Outcome.ERROR], total),
        fallback_ratio=ratio(counts[Outcome.FALLBACK], total),
        degraded_ratio=ratio(counts[Outcome.DEGRADED], total),
        shed_ratio=ratio(counts[Outcome.SHED], total),
        p99_corrected_ms=p99_corrected,
        endpoints=endpoints,
        errors=top_errors(store.error_kinds(b0, b1)),
        **latency_fields,
    )


def phase_summaries(store: MetricStore, phases: Sequence[PhaseSpan]) -> list[PhaseSummary]:
    """One :class:`PhaseSummary` per phase, in order."""
    return [phase_summary(store, phase) for phase in phases]


def time_series(store: MetricStore, duration_s: float | None = None) -> TimeSeries:
    """Per-bucket figures over the whole drill (all endpoints), from t = 0.

    ``duration_s`` defaults to the end of the last bucket holding data.
    """
    bucket_s = store.bucket_s
    end = store.bucket_range(0.0, duration_s)[1] if duration_s is not None else store.end_bucket
    series: dict[str, list] = {
        k: []
        for k in (
            "t_s",
            "rps",
            "p50_ms",
            "p95_ms",
            "p99_ms",
            "error_ratio",
            "fallback_ratio",
            "shed_ratio",
        )
    }
    scratch = Latency()
    for b, counts in enumerate(store.bucket_counts(0, end)):
        total = sum(counts.values())
        p50, p95, p99 = store.latency(b, b + 1, into=scratch).percentiles_ms(PERCENTILES)
        series["t_s"].append(round(b * bucket_s, 9))
        series["rps"].append(total / bucket_s)
        series["p50_ms"].append(p50)
        series["p95_ms"].append(p95)
        series["p99_ms"].append(p99)
        series["error_ratio"].append(ratio(counts[Outcome.ERROR], total))
        series["fallback_ratio"].append(ratio(counts[Outcome.FALLBACK], total))
        series["shed_ratio"].append(ratio(counts[Outcome.SHED], total))
    return TimeSeries(bucket_s=bucket_s, endpoints=endpoint_series(store, end), **series)


def endpoint_series(
    store: MetricStore, end: int, limit: int = MAX_ENDPOINT_SERIES
) -> dict[str, EndpointSeries]:
    """Per-bucket rps, p95 and error ratio of the ``limit`` busiest endpoints, by name.

    Left out: the harness's own rows (``harness:dropped``): they are arrivals never sent.
    """
    bucket_s = store.bucket_s
    totals = {
        e: sum(store.counts(0, end, [e]).values())
        for e in store.endpoints
        if not e.startswith("harness:")
    }
    busiest = sorted(totals, key=lambda e: (-totals[e], e))[:limit]
    scratch = Latency()
    out = {}
    for endpoint in sorted(busiest):
        rps, p95, errors = [], [], []
        for b, counts in enumerate(store.bucket_counts(0, end, [endpoint])):
            total = sum(counts.values())
            rps.append(total / bucket_s)
            p95.append(store.latency(b, b + 1, [endpoint], into=scratch).percentile_ms(95.0))
            errors.append(round(ratio(counts[Outcome.ERROR], total), 4) if total else None)
        out[endpoint] = EndpointSeries(rps=rps, p95_ms=p95, error_ratio=errors)
    return out
