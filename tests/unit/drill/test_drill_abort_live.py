"""AbortWatch and LiveWindow: judged on drill time that tests set, never on a real clock."""

from __future__ import annotations

import pytest

from harness.drill.abort import AbortWatch
from harness.drill.live import LiveWindow
from harness.drill.model import AbortCondition
from harness.results.model import Outcome


def _second(live: LiveWindow, second: int, ok: int, errors: int, latency_ms: float = 10.0) -> None:
    """Record ``ok`` and ``errors`` requests spread over drill second ``second``."""
    total = ok + errors
    for i in range(total):
        outcome = Outcome.ERROR if i < errors else Outcome.OK
        live.add(second + i / max(total, 1), outcome, latency_ms)


def _errors_above_half(for_s: float = 2, min_rps: float = 1.0) -> AbortCondition:
    return AbortCondition(metric="error_ratio", above=0.5, for_s=for_s, min_requests_per_s=min_rps)


def test_abort_fires_once_the_condition_held_for_its_whole_for_s() -> None:
    """error_ratio above 0.5 in seconds 1 and 2 fires at t=3, not before."""
    live, watch = LiveWindow(), AbortWatch([_errors_above_half()])
    _second(live, 0, ok=10, errors=0)
    _second(live, 1, ok=2, errors=8)
    _second(live, 2, ok=2, errors=8)
    assert watch.breached(live, 1.0) is None
    assert watch.breached(live, 2.5) is None  # one bad second only
    fired = watch.breached(live, 3.0)
    assert fired is not None and fired.describe() == "error_ratio > 0.5 for 2 s"


def test_a_good_second_resets_the_streak() -> None:
    """bad, good, bad: never two bad seconds in a row, so no abort."""
    live, watch = LiveWindow(), AbortWatch([_errors_above_half()])
    _second(live, 0, ok=1, errors=9)
    _second(live, 1, ok=9, errors=1)
    _second(live, 2, ok=1, errors=9)
    assert watch.breached(live, 3.0) is None
    _second(live, 3, ok=1, errors=9)
    assert watch.breached(live, 4.0) is not None


def test_too_few_requests_never_count_as_bad() -> None:
    """Seconds below min_requests_per_s are not judged bad, however many of them fail."""
    live, watch = LiveWindow(), AbortWatch([_errors_above_half(min_rps=5)])
    for second in range(4):
        _second(live, second, ok=0, errors=3)
    assert watch.breached(live, 4.0) is None


def test_p95_condition_and_each_second_judged_once() -> None:
    """p95_ms above the limit for 1 s fires; judging the same time again returns nothing new."""
    live = LiveWindow()
    watch = AbortWatch([AbortCondition(metric="p95_ms", above=500, for_s=1)])
    _second(live, 0, ok=10, errors=0, latency_ms=900)
    assert watch.breached(live, 0.9) is None  # second 0 has not ended
    assert watch.breached(live, 1.0) is not None
    assert watch.breached(live, 1.0) is None


def test_live_window_rates_ratios_and_p95() -> None:
    """rps, error ratio and p95 come from the last whole seconds; shed requests have no latency."""
    live = LiveWindow()
    for i in range(19):
        live.add(4 + i / 20, Outcome.OK, float(i + 1))
    live.add(4.99, Outcome.SHED, 10_000.0)
    live.add(4.5, Outcome.ERROR, 5.0)
    assert live.rps(5.0) == 21
    assert live.error_ratio(5.0) == pytest.approx(1 / 21)
    assert live.ratio(5.0, Outcome.SHED) == pytest.approx(1 / 21)
    assert live.p95_ms(5.0) == 18.0  # nearest rank of 20 latencies; the shed 10 s is not one
    assert live.rps(4.5) == 0 and live.error_ratio(4.5) is None and live.p95_ms(4.5) is None
    assert live.rps(6.0, last_s=2.0) == 10.5


def test_live_window_keeps_only_its_span_and_accepts_late_samples() -> None:
    """Seconds older than the span are dropped; a late sample lands in its own second."""
    live = LiveWindow(span_s=3)
    for second in (0, 1, 2, 3):
        live.add(second + 0.5, Outcome.OK, 1.0)
    live.add(0.2, Outcome.ERROR, 1.0)  # older than the window: ignored
    live.add(2.7, Outcome.ERROR, 1.0)  # late, but still in the window
    assert live.rps(4.0, last_s=4.0) == 4 / 4
    assert live.error_ratio(3.0) == 0.5


def test_live_p95_is_remembered_until_a_late_sample_changes_its_second() -> None:
    """p95 is computed once per whole second, and again when a late request lands in it."""
    from harness.drill.live import LiveWindow
    from harness.results.model import Outcome

    live = LiveWindow()
    for latency in range(1, 101):
        live.add(0.5, Outcome.OK, float(latency))
    assert live.p95_ms(1.2) == 95.0
    assert live.p95_ms(1.9) == 95.0  # same second: remembered
    for _ in range(100):
        live.add(0.7, Outcome.OK, 1000.0)  # late requests that started in second 0
    assert live.p95_ms(1.95) == 1000.0


def test_a_phase_watch_judges_only_the_seconds_of_its_phase() -> None:
    """Bad seconds 0-5; a watch for phase [2, 4) fires at 4 at the latest and never on 0-1 or 4-5."""
    live = LiveWindow()
    for second in range(6):
        _second(live, second, ok=1, errors=9)
    early = AbortWatch([_errors_above_half(for_s=2)], from_s=2.0, until_s=4.0, phase="outage")
    assert early.breached(live, 3.0) is None  # only second 2 judged so far
    assert early.breached(live, 6.0) is not None  # seconds 2 and 3
    short = AbortWatch([_errors_above_half(for_s=3)], from_s=2.0, until_s=4.0, phase="outage")
    assert short.breached(live, 6.0) is None  # seconds 4 and 5 belong to the next phase


def test_abort_watches_of_a_drill_add_one_per_phase_with_conditions() -> None:
    """The drill-wide watch comes first; each phase with 'abort:' gets a watch over its window."""
    from harness.drill.abort import abort_watches_of
    from harness.drill.model import Drill

    condition = {"metric": "error_ratio", "above": 0.5, "for_s": 1}
    drill = Drill.model_validate(
        {
            "name": "d",
            "target": {"url": "http://127.0.0.1:1"},
            "load": {"scenario": "s.py", "shape": {"type": "steady", "level": 1}},
            "phases": [
                {"name": "base", "duration_s": 2, "abort": [condition]},
                {"name": "outage", "duration_s": 3},
                {"name": "after", "duration_s": 2, "abort": [condition]},
            ],
        }
    )
    watches = abort_watches_of(drill)
    assert [w.phase for w in watches] == [None, "base", "after"]
    assert watches[0].conditions == []
