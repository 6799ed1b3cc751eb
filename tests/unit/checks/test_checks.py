"""Tests for the SLA checks in harness.checks (synthetic data only)."""

from __future__ import annotations

import dataclasses

import pytest

from harness.checks import REGISTRY, CheckContext, evaluate_all, parse_checks
from harness.errors import ValidationFailed
from harness.metrics.store import MetricStore
from harness.metrics.synthetic import Seg, store_for
from harness.results.model import CheckResult, FaultWindowRecord, Outcome, WritesSummary
from harness.results.raw import ProbeRun

OK, FB, SHED, ERR = Outcome.OK, Outcome.FALLBACK, Outcome.SHED, Outcome.ERROR
PHASES = [("baseline", 0.0, 10.0), ("fault", 10.0, 30.0), ("recovery", 30.0, 40.0)]


def calm(start: float, end: float) -> list[Seg]:
    return [
        Seg(start, end, "orders", OK, 20, 100),
        Seg(start, end, "chat", OK, 10, 200),
        Seg(start, end, "reports", OK, 5, 50),
    ]


TRAFFIC = (
    calm(0, 10)
    + calm(30, 40)
    + [
        Seg(10, 30, "orders", OK, 18, 150),
        Seg(10, 30, "orders", ERR, 2, 300),
        Seg(20, 21, "orders", OK, 10, 5000),  # a one-second latency spike
        Seg(10, 30, "chat", FB, 9, 20),
        Seg(10, 30, "chat", OK, 1, 200),
        Seg(10, 30, "reports", SHED, 4, 1),
        Seg(10, 30, "reports", OK, 1, 50),
    ]
)


def fault(applied: float | None = 10.0, reverted: float | None = 30.0) -> FaultWindowRecord:
    return FaultWindowRecord(
        fault="orders-down",
        script="orders-outage",
        proxy="orders",
        type="down",
        planned_start_s=10.0,
        planned_end_s=30.0,
        applied_s=applied,
        reverted_s=reverted,
    )


# orders: 0-10 ok 100 ms; 10-12.3 errors; 12.3-30 fallback; 30-31.6 slow; 31.6-40 ok again.
FAILOVER = [
    Seg(0, 10, "orders", OK, 40, 100),
    Seg(10, 12.3, "orders", ERR, 40, 1000),
    Seg(12.3, 30, "orders", FB, 40, 20),
    Seg(30, 31.6, "orders", OK, 40, 600),
    Seg(31.6, 40, "orders", OK, 40, 100),
]


@pytest.fixture(scope="module")
def traffic() -> CheckContext:
    return CheckContext(
        store_for(TRAFFIC),
        1.0,
        PHASES,
        baseline_phase="baseline",
        faults=[fault()],
        writes=WritesSummary(acknowledged=10, verified=9, lost=["T-7"]),
    )


def failover_ctx(bucket_s: float = 0.25) -> CheckContext:
    return CheckContext(
        store_for(FAILOVER, bucket_s), bucket_s, PHASES, baseline_phase="baseline", faults=[fault()]
    )


# type -> (passing config, failing config, measured value of the failing one, context)
EXAMPLES = {
    "latency": (
        {"percentile": 95, "max_ms": 1000},
        {"percentile": 99, "max_ms": 1000},
        5000,
        "traffic",
    ),
    "error_rate": ({"max_ratio": 0.15}, {"max_ratio": 0.05}, 40 / 410, "traffic"),
    "availability": ({"min_ratio": 0.85}, {"min_ratio": 0.95}, 370 / 410, "traffic"),
    "throughput": ({"min_rps": 15}, {"min_rps": 20}, 18.5, "traffic"),
    "fallback_ratio": (
        {"min_ratio": 0.85, "endpoints": ["chat"]},
        {"min_ratio": 0.95, "endpoints": ["chat"]},
        0.9,
        "traffic",
    ),
    "shed_ratio": (
        {"min_ratio": 0.5, "endpoints": ["reports"]},
        {"max_ratio": 0.1, "endpoints": ["reports"]},
        0.8,
        "traffic",
    ),
    "core_protected": (
        {
            "core_endpoints": ["orders"],
            "noncore_endpoints": ["reports"],
            "min_noncore_shed_ratio": 0.5,
            "min_availability": 0.85,
            "max_p95_ms": 1000,
        },
        {
            "core_endpoints": ["orders"],
            "noncore_endpoints": ["reports"],
            "min_noncore_shed_ratio": 0.5,
            "min_availability": 0.95,
            "max_p95_ms": 1000,
        },
        370 / 410,
        "traffic",
    ),
    "failover_time": (
        {"max_s": 3.0, "endpoints": ["orders"]},
        {"max_s": 1.0, "endpoints": ["orders"]},
        2.3,
        "failover",
    ),
    "recovery_time": (
        {"max_s": 2.0, "phase": None, "fault": "orders-outage"},
        {"max_s": 1.0, "phase": None, "fault": "orders-outage"},
        1.6,
        "failover",
    ),
    "lost_writes": ({"max_count": 1}, {}, 1, "traffic"),
    "probe": ({"probe": "api", "min_ratio": 0.7}, {"probe": "api", "min_ratio": 0.9}, 0.7, "probes"),
}
DEFAULT_SCOPE = {"phase": "fault", "endpoints": ["orders"]}


def build(kind: str, fields: dict):
    if kind not in EXAMPLES:  # a plugin's check: its own example, scoped to a phase
        return parse_checks([{"type": kind, "phase": "fault", **fields}])[0]
    scoped = {**DEFAULT_SCOPE, **fields} if kind != "lost_writes" else dict(fields)
    if kind in ("core_protected", "probe"):
        scoped.pop("endpoints")
    return parse_checks([{"type": kind, **scoped}])[0]


def ctx_for(name: str, traffic: CheckContext) -> CheckContext:
    if name == "probes":
        return probes_ctx(traffic)
    return traffic if name == "traffic" else failover_ctx()


def probes_ctx(traffic: CheckContext) -> CheckContext:
    """``traffic`` with probe 'api' run every 2 s: all pass, but 3 of 10 fail in phase 'fault'."""
    runs = [
        ProbeRun(t_s=t, probe="api", kind="http", passed=not (10 <= t < 16), duration_ms=1.0,
                 detail="status 503, expected 200" if 10 <= t < 16 else "status 200")
        for t in range(0, 40, 2)
    ]
    return dataclasses.replace(traffic, probe_runs=runs)


def example(kind: str) -> dict:
    """A valid config of ``kind``: the passing example here, or a plugin check's ``example``."""
    return EXAMPLES[kind][0] if kind in EXAMPLES else dict(REGISTRY[kind].example)


def test_every_registered_type_has_examples() -> None:
    """Every built-in check has a passing and a failing example here; plugins bring their own."""
    assert set(REGISTRY.builtin()) == set(EXAMPLES)
    assert all(REGISTRY[kind].example for kind in REGISTRY.plugin_names())


@pytest.mark.parametrize("kind", sorted(REGISTRY))
def test_contract_result_shape(kind: str, traffic: CheckContext) -> None:
    """Every check type, plugins included, returns a complete CheckResult of its own type."""
    ctx = ctx_for(EXAMPLES[kind][3], traffic) if kind in EXAMPLES else traffic
    result = build(kind, example(kind)).evaluate(ctx)
    assert isinstance(result, CheckResult) and result.type == kind
    assert result.unit and result.comparator in ("<=", ">=") and result.detail
    assert result.threshold is not None and result.name and result.measured is not None


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_contract_pass_and_fail(kind: str, traffic: CheckContext) -> None:
    """Each check type passes its passing example and fails its failing one with the right value."""
    good, bad, measured, ctx_name = EXAMPLES[kind]
    ctx = ctx_for(ctx_name, traffic)
    passed = build(kind, good).evaluate(ctx)
    failed = build(kind, bad).evaluate(ctx)
    assert passed.passed, passed.detail
    assert not failed.passed
    assert failed.measured == pytest.approx(
        measured, rel=0.02, abs=0.1 if kind.endswith("_time") else 1e-9
    )
    for result in (passed, failed):
        assert isinstance(result, CheckResult) and result.type == kind
        assert result.unit and result.comparator in ("<=", ">=") and result.detail
        assert result.threshold is not None and result.name


@pytest.mark.parametrize("kind", sorted(REGISTRY))
def test_contract_no_data_is_a_failed_result(kind: str) -> None:
    """With no data at all every check returns a failed result that says so, never raises."""
    empty = CheckContext(store_for([]), 1.0, PHASES, baseline_phase="baseline")
    result = build(kind, example(kind)).evaluate(empty)
    assert not result.passed and result.measured is None
    assert "no data" in result.detail or "did not run" in result.detail


@pytest.mark.parametrize("kind", sorted(set(REGISTRY) - {"lost_writes"}))
def test_contract_unknown_phase_is_a_failed_result(kind: str, traffic: CheckContext) -> None:
    """A check scoped to a phase that does not exist fails and names the known phases."""
    result = build(kind, {**example(kind), "phase": "nope"}).evaluate(traffic)
    assert not result.passed and "baseline, fault, recovery" in result.detail


def test_failing_detail_names_value_scope_and_limit(traffic: CheckContext) -> None:
    """A breach's detail states the measured value, the scope and the threshold."""
    result = build("error_rate", {"max_ratio": 0.05}).evaluate(traffic)
    assert result.detail == ("error ratio was 9.76 % in phase 'fault' on orders, breaching ≤ 5 %")
    assert result.name == "error ratio ≤ 0.05 [fault/orders]"


def test_windowed_spike_fails_while_phase_passes(traffic: CheckContext) -> None:
    """A one-second spike fails a 5 s windowed p95 check while the whole-phase p95 passes."""
    whole = build("latency", {"percentile": 95, "max_ms": 1000}).evaluate(traffic)
    windowed = build("latency", {"percentile": 95, "max_ms": 1000, "window_s": 5}).evaluate(traffic)
    assert whole.passed and whole.measured == pytest.approx(300, rel=1e-3)
    assert not windowed.passed and windowed.measured == pytest.approx(5000, rel=1e-3)
    assert windowed.window_s == 5 and 16 <= windowed.worst_window_start_s <= 20
    assert "per 5 s window" in windowed.name


def test_phase_scoping_and_endpoint_filter(traffic: CheckContext) -> None:
    """The same check passes in the baseline, fails in the fault phase, and filters endpoints."""
    assert build("error_rate", {"max_ratio": 0.0, "phase": "baseline"}).evaluate(traffic).passed
    drill = build("error_rate", {"max_ratio": 1, "phase": None}).evaluate(traffic)
    assert drill.measured == pytest.approx(40 / 810) and drill.phase is None
    chat = build("error_rate", {"max_ratio": 0.0, "endpoints": ["chat"]}).evaluate(traffic)
    assert chat.passed and chat.measured == 0.0


def test_latency_corrected_and_outcome_filter(traffic: CheckContext) -> None:
    """Latency can be judged on chosen outcomes; corrected falls back to raw without CO data."""
    errors = build("latency", {"percentile": 50, "max_ms": 10, "outcomes": ["error"]})
    assert errors.evaluate(traffic).measured == pytest.approx(300, rel=1e-3)
    corrected = build("latency", {"percentile": 95, "max_ms": 1000, "corrected": True})
    assert corrected.evaluate(traffic).measured == pytest.approx(300, rel=1e-3)


def test_shed_ratio_requires_retry_after() -> None:
    """require_retry_after fails when any shed response lacked Retry-After."""
    segs = [Seg(0, 10, "reports", SHED, 5, 1), Seg(4, 5, "reports", SHED, 2, 1, True)]
    ctx = CheckContext(store_for(segs), 1.0, [("load", 0.0, 10.0)])
    only = parse_checks([{"type": "shed_ratio", "require_retry_after": True}])[0].evaluate(ctx)
    assert not only.passed and only.measured == 2 and only.unit == "count"
    both = parse_checks([{"type": "shed_ratio", "min_ratio": 0.5, "require_retry_after": True}])[
        0
    ].evaluate(ctx)
    assert not both.passed and "2 shed response(s) lacked Retry-After" in both.detail


def test_core_protected_windowed_and_not_exercised(traffic: CheckContext) -> None:
    """core_protected fails on the spike per window, and fails as no data when nothing was shed."""
    fields = dict(EXAMPLES["core_protected"][0])
    windowed = build("core_protected", {**fields, "window_s": 5}).evaluate(traffic)
    assert not windowed.passed and windowed.unit == "ms"
    assert windowed.measured == pytest.approx(5000, rel=1e-3)
    baseline = build("core_protected", {**fields, "phase": "baseline"}).evaluate(traffic)
    assert not baseline.passed and "never shed" in baseline.detail


def test_fallback_ratio_both_bounds(traffic: CheckContext) -> None:
    """With min and max, the breached bound is reported."""
    check = build("fallback_ratio", {"min_ratio": 0.1, "max_ratio": 0.5, "endpoints": ["chat"]})
    result = check.evaluate(traffic)
    assert not result.passed and result.comparator == "<=" and result.threshold == 0.5


def test_window_not_a_multiple_of_bucket(traffic: CheckContext) -> None:
    """A window that is not a whole number of buckets fails with a fix in the detail."""
    result = build("error_rate", {"max_ratio": 1, "window_s": 1.5}).evaluate(traffic)
    assert not result.passed and "whole multiple" in result.detail


def test_lost_writes_detail(traffic: CheckContext) -> None:
    """lost_writes reports the count and example ids."""
    result = build("lost_writes", {}).evaluate(traffic)
    assert result.measured == 1 and "T-7" in result.detail


def test_lost_writes_fails_when_writes_could_not_be_read_back() -> None:
    """A write whose read-back failed is not known to be kept: lost_writes fails unless tolerated."""
    ctx = CheckContext(
        store=MetricStore(0.25),
        bucket_s=0.25,
        phases=[("all", 0.0, 1.0)],
        writes=WritesSummary(acknowledged=3, verified=1, lost=[], unverifiable=["T-1", "T-2"]),
    )
    strict = build("lost_writes", {}).evaluate(ctx)
    assert not strict.passed and strict.measured == 0
    assert "2 could not be checked" in strict.detail and "not known to be kept" in strict.detail
    assert build("lost_writes", {"max_unverifiable": 2}).evaluate(ctx).passed


def test_parse_checks_rejects_unknown_fields() -> None:
    """The CheckSpec union rejects unknown fields and missing bounds, naming the item."""
    with pytest.raises(ValidationFailed, match="0.latency"):
        parse_checks([{"type": "latency", "percentile": 95, "max_ms": 1, "max_s": 2}])
    with pytest.raises(ValidationFailed, match="needs min_ratio"):
        parse_checks([{"type": "fallback_ratio"}])


def test_evaluate_all_keeps_going(traffic: CheckContext) -> None:
    """evaluate_all evaluates every check even after failures."""
    checks = [build(k, EXAMPLES[k][1]) for k in ("error_rate", "availability", "lost_writes")]
    assert [r.passed for r in evaluate_all(checks, traffic)] == [False, False, False]


def test_probe_check_names_runs_window_and_first_failure(traffic: CheckContext) -> None:
    """A probe check's breach says how many runs passed, where, and what the first failure saw;
    the windowed form finds the worst window."""
    ctx = probes_ctx(traffic)
    whole = build("probe", {"probe": "api", "min_ratio": 0.9}).evaluate(ctx)
    assert whole.detail.startswith("probe 'api' passed 7 of 10 runs (70")
    assert "in phase 'fault', breaching ≥ 90" in whole.detail
    assert whole.detail.endswith("; first failure at 10.00 s: status 503, expected 200")
    windowed = build("probe", {"probe": "api", "window_s": 4}).evaluate(ctx)
    assert windowed.measured == 0 and windowed.worst_window_start_s == 10
    other = build("probe", {"probe": "db"}).evaluate(ctx)
    assert not other.passed and other.detail == "no data: probe 'db' did not run in phase 'fault'"


def test_an_endpoint_nobody_requested_is_no_data_listing_the_endpoints_seen(
    traffic: CheckContext,
) -> None:
    """'ordrs' (a typo) got no request in the whole run: the detail lists what was requested."""
    [typo, real] = parse_checks(
        [
            {"type": "error_rate", "max_ratio": 0.5, "endpoints": ["ordrs"], "phase": "fault"},
            {"type": "error_rate", "max_ratio": 0.5, "endpoints": ["orders"], "phase": "fault"},
        ]
    )
    result = typo.evaluate(traffic)
    assert not result.passed and result.measured is None
    assert result.detail.endswith("(endpoints seen: chat, orders, reports)"), result.detail
    assert "endpoints seen" not in real.evaluate(traffic).detail
