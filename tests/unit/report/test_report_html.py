"""report.html: verdict, checks, charts with fault windows, tables, timeline; self-contained."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from harness.report import html
from harness.report.charts import build_charts, nice_axis
from harness.results.model import RunReport


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def find(self, tag: str, **attrs: str) -> list[dict[str, str | None]]:
        """Tags ``tag`` whose attributes hold the values (class_ is class, data_x is data-x)."""
        wanted = {k.rstrip("_").replace("_", "-"): v for k, v in attrs.items()}
        return [a for t, a in self.tags if t == tag and all(
            v in (a.get(k) or "").split() for k, v in wanted.items())]


@pytest.fixture
def page(report: RunReport) -> str:
    """The sample report rendered as HTML."""
    return html.render(report)


@pytest.fixture
def tags(page: str) -> _Tags:
    """The start tags of the sample page."""
    parser = _Tags()
    parser.feed(page)
    return parser


def test_verdict_and_reason_are_at_the_top(page: str, report: RunReport) -> None:
    """The verdict label and its reason appear before the check table."""
    top = page[: page.index('id="checks"')]
    assert 'data-verdict="fail"' in top and ">FAIL<" in top
    assert "1 of 9 checks failed: fault-p99 (2,380 ms &gt; 1,500 ms)." in top
    assert report.target_url in top and report.drill in top


def test_every_check_has_a_row(tags: _Tags, report: RunReport) -> None:
    """The check table has one row per check, marked passed or failed."""
    rows = tags.find("tr", class_="check")
    assert [r["data-check"] for r in rows] == [c.name for c in report.checks]
    assert [r["data-check"] for r in rows if r["data-passed"] == "false"] == ["fault-p99"]


def test_failed_check_shows_measured_and_threshold(page: str) -> None:
    """The failed check's row shows the measured value next to the threshold."""
    row = re.search(r'<tr class="check check-fail".*?</tr>', page, re.S)
    assert row and "2,380 ms" in row.group(0) and "1,500 ms" in row.group(0)


def test_one_svg_per_chart_with_shaded_fault_windows(tags: _Tags) -> None:
    """Latency, throughput and ratio charts are inline SVGs, each shading the fault window."""
    svgs = tags.find("svg", class_="chart-svg")
    assert [s["data-chart"] for s in svgs] == ["latency", "throughput", "ratios"]
    bands = tags.find("rect", class_="fault-window")
    assert len(bands) == 3 and {b["data-fault"] for b in bands} == {"orders-primary-outage"}


def test_failover_recovery_and_phase_markers_on_every_chart(tags: _Tags) -> None:
    """Each chart marks failover and recovery moments and the two inner phase boundaries."""
    assert len(tags.find("g", data_marker="failover")) == 3
    assert len(tags.find("g", data_marker="recovery")) == 3
    assert len(tags.find("line", class_="marker-phase")) == 6


def test_latency_chart_draws_p50_p95_p99(tags: _Tags) -> None:
    """The latency chart has a series line for each percentile."""
    assert {s["data-series"] for s in tags.find("polyline", class_="series")} >= {
        "p50", "p95", "p99", "rps", "error", "fallback", "shed"}


def test_page_is_self_contained(page: str) -> None:
    """The page loads nothing: no script, no external stylesheet, image or font."""
    assert "<script" not in page and "<link" not in page and "@import" not in page
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "url(" not in page


def test_phase_table_with_collapsible_endpoints(tags: _Tags, page: str) -> None:
    """Each phase has a row with p99 corrected and a collapsible per-endpoint table."""
    assert [r["data-phase"] for r in tags.find("tr", class_="phase")] == [
        "baseline", "fault", "recovery"]
    assert page.count('<details class="endpoints">') == 3
    assert "2,710" in page  # fault phase's corrected p99
    assert "GET /orders/{id}" in page


def test_timeline_lists_every_event(tags: _Tags, report: RunReport) -> None:
    """The timeline has one row per journal event, in order, with its kind."""
    kinds = [r["data-kind"] for r in tags.find("tr", class_="event")]
    assert kinds == [e.kind.value for e in report.events]


def test_load_and_writes_summaries(page: str) -> None:
    """Load (intended vs achieved, dropped arrivals) and writes (acknowledged, verified) show."""
    assert "48.7 rps" in page and "50 rps" in page and "Dropped arrivals" in page
    assert 'id="writes"' in page and "412" in page


def test_lost_ids_and_sustainable_peak_show_when_present(report: RunReport) -> None:
    """Lost write ids and the sustainable peak appear when the report has them."""
    assert report.writes is not None
    writes = report.writes.model_copy(update={"lost": ["T-1041", "T-1077"], "verified": 410})
    page = html.render(report.model_copy(update={"writes": writes, "sustainable_peak": 180.0}))
    assert "T-1041, T-1077" in page and 'id="sustainable-peak"' in page and ">180<" in page


def test_text_from_the_report_is_escaped(report: RunReport) -> None:
    """Markup in report text (a drill name, a reason) is shown, not interpreted."""
    page = html.render(report.model_copy(update={"verdict_reason": "<b onclick=x>boom</b>"}))
    assert "<b onclick" not in page and "&lt;b onclick=x&gt;boom&lt;/b&gt;" in page


def test_aborted_run_without_series_renders(aborted: RunReport) -> None:
    """An aborted report without time series shows the verdict and says there is no series."""
    page = html.render(aborted)
    assert 'data-verdict="aborted"' in page and "No time series recorded." in page
    assert "never" in page  # fault never reverted, failover never reached


def test_missing_latency_buckets_break_the_line(report: RunReport) -> None:
    """A bucket without latency splits the percentile line instead of drawing through zero."""
    p95 = list(report.series.p95_ms)
    p95[20] = None
    series = report.series.model_copy(update={"p95_ms": p95})
    latency = build_charts(report.model_copy(update={"series": series}))[0]
    assert len(next(line for line in latency.lines if line.key == "p95").segments) == 2


def test_nice_axis_rounds_up_to_a_tick() -> None:
    """The axis top is a round number at or above the peak, with ticks from zero."""
    assert nice_axis(2400) == (3000, [0, 1000, 2000, 3000])
    top, ticks = nice_axis(0.0)
    assert top > 0 and ticks[0] == 0


def test_phase_check_limits_are_drawn_on_their_chart(tags: _Tags) -> None:
    """Per-phase check limits appear as dashed segments; the failed one is marked as failed."""
    assert len(tags.find("g", class_="threshold-fail")) == 1
    assert len(tags.find("g", class_="threshold")) == 6
