"""A realistic synthetic :class:`RunReport`: an orders-primary outage drill.

Used by the report tests (unit and browser), by the screenshot in docs/reports.md,
and to preview a report format without running a drill::

    from harness.report.sample import sample_report
    write_reports(sample_report(), Path("/tmp/demo"))

The drill lasts 40 s: baseline 0-10 s, fault 10-30 s (orders-primary down),
recovery 30-40 s. Reads fail over to the replica at 11.2 s; latency and errors
are back to baseline 2.1 s after the fault is reverted. One check fails (the
fault phase's p99), some traffic is shed while the breaker is open.
"""

from __future__ import annotations

import math
from typing import Any

from harness.results.model import (
    CheckResult,
    EndpointSeries,
    EndpointSummary,
    ErrorCount,
    EventKind,
    FaultWindowRecord,
    LoadSummary,
    Outcome,
    PhaseSummary,
    ResilienceTiming,
    RunReport,
    ServerSample,
    TimelineEvent,
    TimeSeries,
    Verdict,
    WritesSummary,
)

FAULT = "orders-primary-outage"
FAULT_START_S = 10.0
FAULT_END_S = 30.0
FAILOVER_S = 1.2
RECOVERY_S = 2.1
DURATION_S = 40.0


def sample_report(**overrides: Any) -> RunReport:
    """Return the sample drill's report; keyword arguments replace top-level fields."""
    report = RunReport(
        run_id="20240611T101500Z-orders-failover",
        drill="orders-failover",
        description="Orders primary goes down under steady chat load; reads must fail over.",
        drill_file="drills/orders-failover.yaml",
        target_url="http://127.0.0.1:8080",
        toxiproxy_url="http://127.0.0.1:8474",
        started_at="2024-06-11T10:15:00Z",
        duration_s=DURATION_S,
        verdict=Verdict.FAIL,
        verdict_reason="1 of 9 checks failed: fault-p99 (2,380 ms > 1,500 ms).",
        checks=_checks(),
        phases=_phases(),
        faults=[
            FaultWindowRecord(
                fault=FAULT,
                script="orders-outage",
                proxy="orders-primary",
                type="down",
                planned_start_s=FAULT_START_S,
                planned_end_s=FAULT_END_S,
                applied_s=FAULT_START_S,
                reverted_s=FAULT_END_S,
            )
        ],
        timings=[
            ResilienceTiming(
                fault=FAULT,
                fault_start_s=FAULT_START_S,
                fault_end_s=FAULT_END_S,
                failover_s=FAILOVER_S,
                recovery_s=RECOVERY_S,
                failover_checked=True,
            )
        ],
        writes=WritesSummary(acknowledged=412, verified=412),
        load=LoadSummary(
            model="open",
            shape="constant",
            scenario="chat-peak",
            workers=2,
            intended_rps=50.0,
            achieved_rps=48.7,
            dropped_arrivals=31,
        ),
        series=_series(),
        events=_events(),
        server_samples=[
            ServerSample(
                t_s=float(t),
                values={
                    "breaker_state{dependency=orders-primary}": (
                        2.0 if 12 <= t < 30 else 1.0 if 10 <= t < 12 or 30 <= t < 32 else 0.0
                    ),
                    "inflight_requests": 12.0 if 10 <= t < 12 else 4.0,
                    "orders_read_total{source=replica}": 45.0 * max(0, min(t, 30) - 11),
                    "tickets_created_total": 12.0 * t,
                    "build_info{version=1.4.2}": 1.0,
                },
            )
            for t in range(0, 41)
        ],
    )
    return report.model_copy(update=overrides) if overrides else report


def _check(
    name: str,
    type_: str,
    phase: str | None,
    cmp: str,
    threshold: float,
    measured: float | None,
    unit: str,
    detail: str = "",
) -> CheckResult:
    passed = measured is not None and (
        measured <= threshold if cmp == "<=" else measured >= threshold
    )
    return CheckResult(
        name=name,
        type=type_,
        phase=phase,
        comparator=cmp,
        threshold=threshold,
        measured=measured,
        unit=unit,
        passed=passed,
        detail=detail,
    )


def _checks() -> list[CheckResult]:
    return [
        _check(
            "baseline-p95",
            "latency",
            "baseline",
            "<=",
            250,
            121.0,
            "ms",
            "p95 latency was 121 ms in phase 'baseline', within ≤ 250 ms",
        ),
        _check(
            "baseline-errors",
            "error_rate",
            "baseline",
            "<=",
            0.01,
            0.002,
            "ratio",
            "error ratio was 0.2 % in phase 'baseline', within ≤ 1 %",
        ),
        _check(
            "fault-errors",
            "error_rate",
            "fault",
            "<=",
            0.05,
            0.038,
            "ratio",
            "error ratio was 3.8 % in phase 'fault', within ≤ 5 %",
        ),
        _check(
            "fault-p99",
            "latency",
            "fault",
            "<=",
            1500,
            2380.0,
            "ms",
            "p99 latency was 2,380 ms in phase 'fault', breaching ≤ 1,500 ms: requests in "
            "the 1.2 s before failover waited for the 2 s client timeout.",
        ),
        _check(
            "fault-fallback",
            "fallback_ratio",
            "fault",
            "<=",
            0.40,
            0.23,
            "ratio",
            "fallback ratio was 23 % in phase 'fault', within ≤ 40 %",
        ),
        _check("failover-time", "failover_time", None, "<=", 3.0, FAILOVER_S, "s"),
        _check("recovery-time", "recovery_time", None, "<=", 5.0, RECOVERY_S, "s"),
        _check(
            "recovery-shed",
            "shed_ratio",
            "recovery",
            "<=",
            0.02,
            0.004,
            "ratio",
            "shed ratio was 0.4 % in phase 'recovery', within ≤ 2 %",
        ),
        _check("no-lost-writes", "lost_writes", None, "<=", 0, 0, "count"),
    ]


ENDPOINTS = {"GET /orders/{id}": 0.55, "POST /chat/message": 0.35, "POST /tickets": 0.10}
# what the errors were, per endpoint: kind -> weight (the fault: timeouts before failover)
ERROR_KINDS = {
    "GET /orders/{id}": {"TimeoutError": 0.7, "http 503": 0.3},
    "POST /chat/message": {"http 503": 0.8, "ConnectionResetError": 0.2},
    "POST /tickets": {"failure: ticket T-# not persisted": 1.0},
}


def _split(total: int, weights: dict[str, float]) -> list[ErrorCount]:
    """``total`` errors split over kinds by weight (exact sum), largest first, empty ones left out."""
    counts = {kind: int(total * w) for kind, w in weights.items()}
    first = next(iter(weights))
    counts[first] += total - sum(counts.values())
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [ErrorCount(kind=k, count=n) for k, n in ranked if n]


def _phase(
    name: str,
    start_s: float,
    end_s: float,
    rps: float,
    ratios: dict[Outcome, float],
    lat: tuple[float, float, float, float],
    faults: list[str] | None = None,
    p99_corrected_ms: float | None = None,
) -> PhaseSummary:
    requests = round(rps * (end_s - start_s))
    counts = {o: round(requests * r) for o, r in ratios.items()}
    counts[Outcome.OK] = requests - sum(counts.values())
    endpoints = {}
    phase_errors: dict[str, int] = {}
    for i, (ep, share) in enumerate(ENDPOINTS.items()):
        n = round(requests * share)
        scale = 1.0 + 0.15 * i
        outcome_counts = {o: round(c * share) for o, c in counts.items()}
        errors = _split(outcome_counts.get(Outcome.ERROR, 0), ERROR_KINDS[ep])
        for e in errors:
            phase_errors[e.kind] = phase_errors.get(e.kind, 0) + e.count
        endpoints[ep] = EndpointSummary(
            requests=n,
            rps=round(rps * share, 1),
            outcome_counts=outcome_counts,
            p50_ms=round(lat[0] * scale, 1),
            p95_ms=round(lat[1] * scale, 1),
            p99_ms=round(lat[2] * scale, 1),
            max_ms=round(lat[3] * scale, 1),
            errors=errors,
        )
    return PhaseSummary(
        name=name,
        start_s=start_s,
        end_s=end_s,
        faults=faults or [],
        requests=requests,
        rps=rps,
        outcome_counts=counts,
        error_ratio=ratios.get(Outcome.ERROR, 0.0),
        fallback_ratio=ratios.get(Outcome.FALLBACK, 0.0),
        degraded_ratio=ratios.get(Outcome.DEGRADED, 0.0),
        shed_ratio=ratios.get(Outcome.SHED, 0.0),
        p50_ms=lat[0],
        p95_ms=lat[1],
        p99_ms=lat[2],
        max_ms=lat[3],
        p99_corrected_ms=p99_corrected_ms,
        endpoints=endpoints,
        errors=[
            ErrorCount(kind=k, count=n)
            for k, n in sorted(phase_errors.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
    )


def _phases() -> list[PhaseSummary]:
    return [
        _phase(
            "baseline",
            0.0,
            10.0,
            49.8,
            {Outcome.ERROR: 0.002},
            (44.0, 121.0, 178.0, 260.0),
            p99_corrected_ms=182.0,
        ),
        _phase(
            "fault",
            10.0,
            30.0,
            47.9,
            {
                Outcome.ERROR: 0.038,
                Outcome.FALLBACK: 0.23,
                Outcome.DEGRADED: 0.05,
                Outcome.SHED: 0.06,
            },
            (88.0, 410.0, 2380.0, 2050.0 + 950.0),
            faults=[FAULT],
            p99_corrected_ms=2710.0,
        ),
        _phase(
            "recovery",
            30.0,
            40.0,
            49.5,
            {Outcome.ERROR: 0.003, Outcome.SHED: 0.004},
            (47.0, 133.0, 205.0, 390.0),
            p99_corrected_ms=214.0,
        ),
    ]


def _series() -> TimeSeries:
    t_s = [float(t) for t in range(40)]
    rps, p50, p95, p99, err, fb, shed = [], [], [], [], [], [], []
    for t in t_s:
        wobble = math.sin(t * 1.7) * 0.5 + math.cos(t * 0.9) * 0.5
        if t < FAULT_START_S:  # baseline
            values = (50 + 1.5 * wobble, 44, 118, 175, 0.002, 0.0, 0.0)
        elif t < FAULT_START_S + FAILOVER_S:  # outage before failover: timeouts
            values = (33, 310, 1950, 2400, 0.62, 0.0, 0.0)
        elif t < 16:  # failed over, breaker open, shedding the least important traffic
            values = (46 + wobble, 92, 420, 980, 0.012, 0.27, 0.11 - 0.015 * (t - 11))
        elif t < FAULT_END_S:  # steady on the replica
            values = (48.5 + wobble, 86, 380, 690, 0.006, 0.22, 0.02)
        elif t < FAULT_END_S + RECOVERY_S:  # primary back, breaker half-open, settling
            values = (49 + wobble, 70, 260, 420, 0.008, 0.06, 0.01)
        else:  # recovered
            values = (50 + 1.5 * wobble, 46, 124, 190, 0.002, 0.0, 0.0)
        columns = (rps, p50, p95, p99, err, fb, shed)
        for i, (column, value) in enumerate(zip(columns, values, strict=True)):
            jitter = 1 + 0.04 * wobble if i in (1, 2, 3) else 1.0  # latency wobbles a little
            column.append(round(value * jitter, 3))
    return TimeSeries(
        bucket_s=1.0,
        t_s=t_s,
        rps=rps,
        p50_ms=p50,
        p95_ms=p95,
        p99_ms=p99,
        error_ratio=err,
        fallback_ratio=fb,
        shed_ratio=shed,
        endpoints=_endpoint_series(t_s, rps, p95, err),
        load_level=[50.0] * len(t_s),  # open model: the target arrival rate
        users=[
            20 if t < FAULT_START_S or t >= 16 else 60 for t in t_s
        ],  # more waiting on the fault
    )


def _endpoint_series(
    t_s: list[float], rps: list[float], p95: list[float | None], err: list[float]
) -> dict[str, EndpointSeries]:
    """Each endpoint's share of the load; the outage hits order lookups, not chat or tickets."""
    out = {}
    for ep, share in ENDPOINTS.items():
        hit = ep.startswith("GET /orders")
        out[ep] = EndpointSeries(
            rps=[round(r * share, 3) for r in rps],
            p95_ms=[None if v is None else round(v * (1.3 if hit else 0.6), 1) for v in p95],
            error_ratio=[
                round(min(e * (1.7 if hit else 0.1), 1.0), 4) if FAULT_START_S <= t < 16 else e
                for t, e in zip(t_s, err, strict=True)
            ],
        )
    return out


def _event(t_s: float, kind: EventKind, message: str, **data: Any) -> TimelineEvent:
    return TimelineEvent(t_s=t_s, kind=kind, message=message, data=data)


def _events() -> list[TimelineEvent]:
    k = EventKind
    return [
        _event(0.0, k.RUN_STARTED, "Drill orders-failover started against http://127.0.0.1:8080"),
        _event(0.0, k.PHASE_STARTED, "Phase baseline started", phase="baseline"),
        _event(10.0, k.PHASE_ENDED, "Phase baseline ended", phase="baseline"),
        _event(10.0, k.PHASE_STARTED, "Phase fault started", phase="fault"),
        _event(
            10.0, k.FAULT_APPLIED, f"Fault {FAULT} applied: proxy orders-primary down", fault=FAULT
        ),
        _event(
            10.6,
            k.SERVER_STATE,
            "Breaker orders-primary: closed -> open",
            breaker="orders-primary",
            state="open",
        ),
        _event(
            11.2,
            k.FAILOVER,
            "Failover: success ratio back above 95 % after 1.2 s (reads from orders-replica)",
            fault=FAULT,
            failover_s=FAILOVER_S,
        ),
        _event(12.0, k.NOTE, "Shedding recommendations traffic with 429 while the breaker is open"),
        _event(30.0, k.PHASE_ENDED, "Phase fault ended", phase="fault"),
        _event(30.0, k.PHASE_STARTED, "Phase recovery started", phase="recovery"),
        _event(30.0, k.FAULT_REVERTED, f"Fault {FAULT} reverted", fault=FAULT),
        _event(
            30.9,
            k.SERVER_STATE,
            "Breaker orders-primary: open -> half_open",
            breaker="orders-primary",
            state="half_open",
        ),
        _event(
            31.3,
            k.SERVER_STATE,
            "Breaker orders-primary: half_open -> closed",
            breaker="orders-primary",
            state="closed",
        ),
        _event(
            32.1,
            k.RECOVERY,
            "Recovered: latency and errors back to baseline 2.1 s after the fault ended",
            fault=FAULT,
            recovery_s=RECOVERY_S,
        ),
        _event(40.0, k.PHASE_ENDED, "Phase recovery ended", phase="recovery"),
        _event(40.0, k.RUN_ENDED, "Drill ended: verdict fail"),
    ]


def aborted_report() -> RunReport:
    """Return an edge-case report: aborted at 12.4 s, fault never reverted, nothing measured."""
    base = sample_report()
    return base.model_copy(
        update={
            "run_id": "20240611T110000Z-orders-failover",
            "verdict": Verdict.ABORTED,
            "verdict_reason": "Aborted at 12.4 s: error ratio 0.62 above the abort limit 0.5.",
            "duration_s": 12.4,
            "checks": [
                _check(
                    "fault-p99",
                    "latency_p99",
                    "fault",
                    "<=",
                    1500,
                    None,
                    "ms",
                    "No requests completed in the fault phase.",
                ),
                _check("failover-time", "failover", None, "<=", 3.0, None, "s"),
            ],
            "phases": base.phases[:1],
            "faults": [base.faults[0].model_copy(update={"reverted_s": None})],
            "timings": [
                base.timings[0].model_copy(
                    update={"fault_end_s": None, "failover_s": None, "recovery_s": None}
                )
            ],
            "writes": None,
            "series": TimeSeries(
                bucket_s=1.0,
                t_s=[],
                rps=[],
                p50_ms=[],
                p95_ms=[],
                p99_ms=[],
                error_ratio=[],
                fallback_ratio=[],
                shed_ratio=[],
            ),
            "events": [
                *base.events[:5],
                _event(12.4, EventKind.ABORTED, "Abort: error ratio 0.62 > 0.5 <limit>"),
            ],
            "server_samples": [],
            "sustainable_peak": None,
        }
    )
