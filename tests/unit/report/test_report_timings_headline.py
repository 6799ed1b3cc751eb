"""Failover is headlined only when a check timed it, and "no data" is never shown as 0 s."""

from __future__ import annotations

import io
import re

import pytest

from harness.checks import CheckContext, parse_checks
from harness.checks.resilience import report_timings
from harness.console import print_verdict
from harness.metrics.synthetic import Seg, store_for
from harness.report import html, markdown
from harness.report.charts import build_charts
from harness.report.sample import sample_report
from harness.results.model import FaultWindowRecord, Outcome, ResilienceTiming, RunReport

LATENCY_FAULT = FaultWindowRecord(
    fault="slow-orders",
    script="orders-latency",
    proxy="orders",
    type="latency",
    planned_start_s=10,
    planned_end_s=20,
    applied_s=10.0,
    reverted_s=20.0,
)


def latency_drill_ctx() -> CheckContext:
    """Orders 40 ms, 600 ms while the latency fault is on (10-20 s), back at 21 s: no errors."""
    segs = [
        Seg(0, 10, "orders", Outcome.OK, 40, 40),
        Seg(10, 21, "orders", Outcome.OK, 40, 600),
        Seg(21, 30, "orders", Outcome.OK, 40, 40),
    ]
    return CheckContext(
        store_for(segs, 0.1),
        0.1,
        [("baseline", 0, 10), ("fault", 10, 20), ("after", 20, 30)],
        baseline_phase="baseline",
        faults=[LATENCY_FAULT],
    )


def with_timing(**fields: object) -> RunReport:
    """The sample report with its one timing replaced."""
    report = sample_report()
    timing = report.timings[0].model_copy(update=fields)
    return report.model_copy(update={"timings": [timing]})


def tiles(page: str) -> dict[str, str]:
    """The key-figure tiles of report.html: timing kind -> shown value."""
    found = re.findall(
        r'data-timing="(\w+)"><div class="k">\w+</div>\s*<div class="v"[^>]*>([^<]*)<', page
    )
    return dict(found)


def console_text(report: RunReport) -> str:
    out = io.StringIO()
    print_verdict(report, "/r", out)
    return out.getvalue()


def test_latency_fault_without_failover_check_has_no_failover_headline() -> None:
    """A latency fault's default failover is 0 s (nothing failed): not a headline, not a marker."""
    ctx = latency_drill_ctx()
    specs = parse_checks([{"type": "recovery_time", "fault": "orders-latency", "max_s": 3}])
    (timing,) = report_timings(ctx, specs)
    assert timing.failover_s == 0.0 and not timing.failover_checked
    assert timing.recovery_checked and timing.recovery_s == pytest.approx(1.0, abs=0.1)
    report = sample_report().model_copy(update={"timings": [timing]})
    assert tiles(html.render(report)) == {"recovery": "1 s"}
    assert "failover" not in console_text(report).split("fault slow-orders:")[1].splitlines()[0]
    assert "| slow-orders | 10 s | 20 s | – | 1 s |" in markdown.render(report)
    assert not [m for c in build_charts(report) for m in c.markers if m.kind == "failover"]


def test_failover_check_puts_failover_in_the_headline() -> None:
    """With a failover_time check for the fault, failover is headlined (sample: 1.2 s)."""
    report = sample_report()
    assert report.timings[0].failover_checked
    assert tiles(html.render(report))["failover"] == "1.2 s"
    assert "failover 1.2 s" in console_text(report)
    assert [m for c in build_charts(report) for m in c.markers if m.kind == "failover"]


def test_failover_without_data_is_no_data_not_zero() -> None:
    """A failover_time check over a window without requests: 'no data' with its reason everywhere."""
    segs = [Seg(0, 10, "orders", Outcome.OK, 40, 40), Seg(20, 30, "orders", Outcome.OK, 40, 40)]
    ctx = CheckContext(
        store_for(segs, 0.1),
        0.1,
        [("baseline", 0, 10), ("fault", 10, 20), ("after", 20, 30)],
        baseline_phase="baseline",
        faults=[LATENCY_FAULT],
    )
    (spec,) = parse_checks([{"type": "failover_time", "fault": "orders-latency", "max_s": 2}])
    result = spec.evaluate(ctx)
    assert result.measured is None and not result.passed
    assert "no data: no request between 10 and 20 s" in result.detail
    (timing,) = report_timings(ctx, [spec])
    assert timing.failover_checked and timing.failover_s is None
    assert timing.failover_no_data == "no data: no request between 10 and 20 s"
    report = sample_report().model_copy(update={"timings": [timing]})
    assert tiles(html.render(report))["failover"] == "no data"
    assert "failover no data (no data: no request between 10 and 20 s)" in console_text(report)
    assert "| no data |" in markdown.render(report)


def test_never_is_still_never() -> None:
    """None without a no-data reason is 'never' (there was data, it did not settle)."""
    report = with_timing(failover_s=None, recovery_s=None)
    assert tiles(html.render(report)) == {"failover": "never", "recovery": "never"}
    assert isinstance(report.timings[0], ResilienceTiming)
