"""The verdict of a run from its journal and its checks (harness.drill.analysis.judge)."""

from __future__ import annotations

from harness.drill.analysis import judge
from harness.results.model import CheckResult, EventKind, TimelineEvent, Verdict

ENDED = [TimelineEvent(t_s=10.0, kind=EventKind.RUN_ENDED, message="drill ended")]


def _check(
    name: str, passed: bool, *, phase: str | None = None, type_: str = "latency"
) -> CheckResult:
    return CheckResult(
        name=name,
        type=type_,
        phase=phase,
        comparator="<=",
        threshold=1.0,
        measured=0.5 if passed else 2.0,
        unit="ms",
        passed=passed,
    )


def test_capacity_search_is_judged_on_its_peak_and_the_drill_wide_checks() -> None:
    """A failing step check does not fail a capacity search; a failing drill-wide check does."""
    step = _check("p95 [step-3]", False, phase="step-3")
    peak = _check("sustainable peak >= 60", True, type_="capacity")
    writes_ok = _check("lost writes", True, type_="lost_writes")
    writes_lost = _check("lost writes", False, type_="lost_writes")
    assert judge(ENDED, [step, peak, writes_ok], capacity=True)[0] is Verdict.PASS
    verdict, reason = judge(ENDED, [step, peak, writes_lost], capacity=True)
    assert verdict is Verdict.FAIL and "lost writes" in reason and "step-3" not in reason


def test_a_failed_check_fails_and_a_missing_end_is_inconclusive() -> None:
    """Any failed check fails an ordinary drill; a run that never logged its end is inconclusive."""
    assert judge(ENDED, [_check("a", True), _check("b", False)])[0] is Verdict.FAIL
    assert judge([], [_check("a", True)])[0] is Verdict.INCONCLUSIVE
