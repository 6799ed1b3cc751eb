"""compare(): regressions and improvements beyond tolerances, and how a Comparison renders."""

from __future__ import annotations

import pytest
from rich.console import Console

from harness.errors import InputError
from harness.report import Comparison, Improvement, Regression, Tolerances, compare
from harness.results.model import RunReport, Verdict


def _with_phase(report: RunReport, name: str, **changes: object) -> RunReport:
    phases = [p.model_copy(update=changes) if p.name == name else p for p in report.phases]
    return report.model_copy(update={"phases": phases, "run_id": "candidate"})


def _with_timing(report: RunReport, **changes: object) -> RunReport:
    timings = [report.timings[0].model_copy(update=changes)]
    return report.model_copy(update={"timings": timings, "run_id": "candidate"})


def _found(c: Comparison, metric: str) -> list[Regression]:
    return [r for r in c.regressions if r.metric == metric]


def test_identical_run_has_no_regressions(report: RunReport) -> None:
    """Comparing a run with itself finds nothing: ok, no regressions, no improvements."""
    c = compare(report, report, Tolerances())
    assert c.ok and c.regressions == [] and c.improvements == [] and c.notes == []


def test_changes_within_tolerances_pass(report: RunReport) -> None:
    """Small movements (p95 +5 %, errors +0.5 pp, failover +0.5 s) stay within tolerances."""
    fault = report.phases[1]
    candidate = _with_phase(report, "fault", p95_ms=fault.p95_ms * 1.05,
                            error_ratio=fault.error_ratio + 0.005, rps=fault.rps * 0.95)
    candidate = _with_timing(candidate, failover_s=1.7)
    assert compare(report, candidate, Tolerances()).ok


def test_p95_up_50_percent_is_a_regression(report: RunReport) -> None:
    """A 50 % slower fault-phase p95 is flagged with baseline, candidate, limit and unit."""
    candidate = _with_phase(report, "fault", p95_ms=615.0)
    (r,) = compare(report, candidate, Tolerances()).regressions
    assert (r.metric, r.phase, r.baseline, r.candidate, r.unit) == (
        "p95_ms", "fault", 410.0, 615.0, "ms")
    assert r.limit == pytest.approx(451.0)
    assert r.delta == "+50 %"


def test_latency_floor_ignores_tiny_absolute_changes(report: RunReport) -> None:
    """2 ms -> 3 ms is +50 % but below the absolute floor, so it is not a regression."""
    base = _with_phase(report, "baseline", p95_ms=2.0)
    candidate = _with_phase(report, "baseline", p95_ms=3.0)
    assert compare(base, candidate, Tolerances(latency_floor_ms=5.0)).ok
    assert not compare(base, candidate, Tolerances(latency_floor_ms=0.5)).ok


def test_failover_three_seconds_slower_is_a_regression(report: RunReport) -> None:
    """failover_s +3 s exceeds the 1 s slack and names the fault."""
    (r,) = compare(report, _with_timing(report, failover_s=4.2), Tolerances()).regressions
    assert (r.metric, r.fault, r.baseline, r.candidate) == ("failover_s", "orders-primary-outage",
                                                           1.2, 4.2)
    assert r.scope == "fault orders-primary-outage"


def test_recovery_never_reached_is_a_regression(report: RunReport) -> None:
    """A candidate that never recovered regresses recovery_s, shown as 'never'."""
    c = compare(report, _with_timing(report, recovery_s=None), Tolerances())
    (r,) = _found(c, "recovery_s")
    assert r.candidate is None and r.show(r.candidate) == "never"


def test_one_lost_write_is_a_regression(report: RunReport) -> None:
    """Any increase in lost writes is a regression with the default tolerance."""
    assert report.writes is not None
    writes = report.writes.model_copy(update={"lost": ["T-1041"], "verified": 411})
    c = compare(report, report.model_copy(update={"writes": writes}), Tolerances())
    (r,) = _found(c, "lost_writes")
    assert (r.baseline, r.candidate, r.unit) == (0.0, 1.0, "count")


def test_error_fallback_shed_ratios_and_rps_drop(report: RunReport) -> None:
    """Ratios beyond their absolute tolerance and an rps drop beyond 10 % are regressions
    (each also beyond the spread: 50 -> 30 rps over 10 s is 500 vs 300 requests, z ~ 7)."""
    candidate = _with_phase(report, "recovery", error_ratio=0.05, fallback_ratio=0.10,
                            shed_ratio=0.05, rps=30.0)
    metrics = {r.metric for r in compare(report, candidate, Tolerances()).regressions}
    assert metrics == {"error_ratio", "fallback_ratio", "shed_ratio", "rps"}


def test_check_that_newly_fails_and_worse_verdict(report: RunReport) -> None:
    """A check that passed in the baseline but fails now, and a worse verdict, are regressions."""
    checks = [c.model_copy(update={"passed": True}) for c in report.checks]
    base = report.model_copy(update={"checks": checks, "verdict": Verdict.PASS})
    c = compare(base, report, Tolerances())
    assert [r.metric for r in c.regressions] == ["check fault-p99", "verdict"]
    assert c.regressions[0].candidate == "FAIL (2,380 ms)"


def test_improvements_are_listed_separately(report: RunReport) -> None:
    """A much faster failover and a fixed check are improvements, and the comparison is ok."""
    checks = [c.model_copy(update={"passed": True}) for c in report.checks]
    candidate = _with_timing(report.model_copy(update={"checks": checks,
                                                       "verdict": Verdict.PASS}), failover_s=0.1)
    c = compare(report, candidate, Tolerances())
    assert c.ok and all(isinstance(i, Improvement) for i in c.improvements)
    assert {i.metric for i in c.improvements} == {"failover_s", "check fault-p99", "verdict"}


def test_unmatched_phases_are_noted(report: RunReport) -> None:
    """A phase only in one run is not compared but named in the notes."""
    candidate = report.model_copy(update={"phases": report.phases[:2]})
    c = compare(report, candidate, Tolerances())
    assert c.ok and c.notes == [
        "WARNING: the drill definitions differ: phases: baseline has recovery 30-40 s, "
        "candidate has (order)",
        "phase 'recovery' is only in the baseline; not compared",
    ]


def test_negative_tolerance_is_refused() -> None:
    """A negative tolerance is an InputError naming the field."""
    with pytest.raises(InputError, match="latency_rel=-0.1"):
        Tolerances(latency_rel=-0.1)


def test_renders_as_text_markdown_and_rich(report: RunReport) -> None:
    """A comparison renders as plain text, a Markdown table and a rich table with the same rows."""
    c = compare(report, _with_phase(report, "fault", p95_ms=615.0), Tolerances())
    text = c.to_text()
    assert text.startswith("REGRESSED: orders-failover: 1 regression(s)")
    assert "p95_ms" in text and "410 ms" in text and "615 ms" in text and "+50 %" in text
    md = c.to_markdown()
    assert "| p95_ms | fault | 410 ms | 615 ms | 451 ms | +50 % |" in md
    console = Console(width=120, record=True, color_system=None)
    console.print(c)
    assert "615 ms" in console.export_text()
    assert str(c) == text
