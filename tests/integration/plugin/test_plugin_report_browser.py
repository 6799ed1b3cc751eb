"""report.html of a real drill (the shipped one, run by the plugin test) in headless Chromium.

Reuses the run directory of test_plugin_drills.py's shipped-drill run when it ran
in this session, else runs the shipped drill against the reference system. Needs
/usr/bin/chromium (scripts/install-chromium); HARNESS_REQUIRE_CHROMIUM=1 turns a
missing browser into a failure. UPDATE_REAL_REPORT_SCREENSHOT=1 refreshes
docs/img/report-real.png from this test's screenshot.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
from pathlib import Path
from urllib.parse import unquote

import pytest
from plugin_drills import REPO, SHIPPED_DRILL

from harness.pytest_plugin import run_drill_in_child
from harness.results.model import RunReport

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def real_run(shipped_reports: Path, request: pytest.FixtureRequest, browser) -> Path:
    """The run directory of a real run of the shipped drill (after checking Chromium is there)."""
    runs = sorted(shipped_reports.glob("*/report.html"))
    if runs:
        return runs[-1].parent
    env = request.getfixturevalue("reference_environment")
    outcome = run_drill_in_child(
        SHIPPED_DRILL,
        reports_dir=shipped_reports,
        target_url=env.target_url,
        toxiproxy_url=env.toxiproxy_url,
    )
    return outcome.run_dir


@pytest.fixture(scope="module")
def real_dom(real_run: Path, browser, tmp_path_factory: pytest.TempPathFactory):
    """Chromium's DOM of the real run's report.html with MEASURE's layout blocks appended:
    one browser run for every DOM and layout test of this module."""
    page = tmp_path_factory.mktemp("measured") / "report.html"
    html = (real_run / "report.html").read_text(encoding="utf-8")
    page.write_text(html.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    return browser.dom(page)


def test_real_report_shows_verdict_checks_and_fault_windows(real_run: Path, real_dom) -> None:
    """Chromium's DOM of a real drill's report has its verdict, every check and shaded faults."""
    report = RunReport.model_validate_json((real_run / "report.json").read_text(encoding="utf-8"))
    dom = real_dom
    verdicts = [a["data-verdict"] for a in dom.having("header", "class", "verdict")]
    assert verdicts == [report.verdict.value]
    assert report.verdict_reason in " ".join(dom.text)
    rows = dom.having("tr", "class", "check")
    assert [r["data-check"] for r in rows] == [c.name for c in report.checks]
    charts = [s["data-chart"] for s in dom.having("svg", "class", "chart-svg")]
    # the closed model's users follow the throughput; the load generator's own lag and CPU
    # come after the system's charts
    assert charts == ["latency", "throughput", "users", "ratios", "generator-lag", "generator-cpu"]
    windows = dom.having("rect", "class", "fault-window")
    assert [w["data-fault"] for w in windows] == ["orders-primary-down"] * len(charts)
    assert [float(w["width"]) > 0 for w in windows] == [True] * len(charts)


def test_real_report_draws_the_targets_state_as_labelled_lanes(real_run: Path, real_dom) -> None:
    """The reference system's breaker state is a labelled state lane on the drill's time axis,
    its counters are lanes of rates per second, with the fault window and the raw table kept."""
    report = RunReport.model_validate_json((real_run / "report.json").read_text(encoding="utf-8"))
    (svg,) = real_dom.having("svg", "class", "lanes-svg")
    lanes = real_dom.having("g", "class", "lane")
    assert 1 <= len(lanes) <= 8 and int(svg["data-lane-count"]) == len(lanes)
    kinds = {lane["data-series"]: lane["data-kind"] for lane in lanes}
    breaker = 'helpdesk_breaker_state{dependency="orders_primary"}'
    assert kinds[breaker] == "state"  # it opened during the outage: the first lane
    assert lanes[0]["data-series"] == breaker
    assert any(k == "rate" and "_total{" in name for name, k in kinds.items())
    text = " ".join(real_dom.text)
    assert f"{breaker} · state" in text
    assert all(name in text for name in kinds)  # every lane is labelled with its series
    windows = real_dom.having("rect", "class", "lane-fault-window")
    assert [w["data-fault"] for w in windows if w.get("data-fault")] == [report.faults[0].fault]
    assert real_dom.having("details", "id", "server-samples")  # the raw samples stay on demand


# Appended to a copy of the page: Chromium's own layout of every chart text and limit,
# written into the DOM that --dump-dom prints (the report itself has no script).
MEASURE = """<script>
for (const svg of document.querySelectorAll("svg.chart-svg, svg.lanes-svg")) {
  const out = {chart: svg.dataset.chart || "lanes", yTop: +svg.dataset.yTop, labels: [], limits: [],
               series: {}};
  for (const t of svg.querySelectorAll(
      "text.chart-label, text.phase-label, text.lane-label, text.state-value")) {
    const b = t.getBBox();
    out.labels.push({text: t.textContent, x: b.x, y: b.y, w: b.width, h: b.height});
  }
  for (const g of svg.querySelectorAll("g.threshold")) {
    out.limits.push({series: g.dataset.series, kind: g.dataset.kind,
                     title: g.querySelector("title").textContent});
  }
  for (const p of svg.querySelectorAll("polyline[data-series]")) {
    const ys = p.getAttribute("points").trim().split(" ").map(xy => +xy.split(",")[1]);
    const s = out.series[p.dataset.series] || [];
    out.series[p.dataset.series] = s.concat(ys);
  }
  const pre = document.createElement("pre");
  pre.className = "layout";
  pre.textContent = "layout:" + encodeURIComponent(JSON.stringify(out));
  document.body.appendChild(pre);
}
</script>"""
BOTTOM, TOP = 222, 30  # the plot area of harness.report.charts, in SVG units
LIMIT_SERIES = {  # the lines each chart may carry a limit for
    "latency": {"p50", "p95", "p99"},
    "throughput": {"rps"},
    "ratios": {"error", "fallback", "shed"},
    "generator-lag": {"generator-lag"},
    "generator-cpu": {"generator-cpu"},
}


@pytest.fixture(scope="module")
def layout(real_dom) -> dict[str, dict]:
    """Per chart: Chromium's bounding boxes of its labels, its limits and its lines' y values."""
    blocks = [
        json.loads(unquote(t.strip()[len("layout:") :]))
        for t in real_dom.text
        if t.strip().startswith("layout:")
    ]
    return {b["chart"]: b for b in blocks}


def test_latency_axis_scales_to_the_data(layout: dict[str, dict], real_run: Path) -> None:
    """The latency axis tops out near the highest p99 drawn, not at a far-off check limit."""
    chart = layout["latency"]
    top_ms = chart["yTop"]
    shown_p99 = max((BOTTOM - y) / (BOTTOM - TOP) * top_ms for y in chart["series"]["p99"])
    assert shown_p99 <= top_ms <= 2.5 * shown_p99, (shown_p99, top_ms)
    report = RunReport.model_validate_json((real_run / "report.json").read_text("utf-8"))
    far = [c for c in report.checks if c.unit == "ms" and c.threshold > top_ms]
    if far:  # a limit above the data is marked at the top edge, not stretching the axis
        assert any("above this chart's scale" in lim["title"] for lim in chart["limits"])
    ratios = layout["ratios"]
    assert ratios["yTop"] <= 100


def test_chart_labels_do_not_overlap(layout: dict[str, dict]) -> None:
    """No two texts of a chart (fault names, failover/recovery, limits, phase names) overlap."""
    overlaps = []
    for name, chart in layout.items():
        for a, b in itertools.combinations(chart["labels"], 2):
            if (
                a["x"] < b["x"] + b["w"]
                and b["x"] < a["x"] + a["w"]
                and a["y"] < b["y"] + b["h"]
                and b["y"] < a["y"] + a["h"]
            ):
                overlaps.append((name, a["text"], b["text"]))
    assert overlaps == []
    assert sum(len(c["labels"]) for c in layout.values()) >= 10  # the pass had work to do


def test_each_limit_is_drawn_on_its_own_metric(layout: dict[str, dict], real_run: Path) -> None:
    """Every limit line names a series of its own chart; availability limits are on no chart."""
    for name, chart in layout.items():
        for lim in chart["limits"]:
            assert lim["series"] in LIMIT_SERIES[name] and lim["series"] in chart["series"], lim
    report = RunReport.model_validate_json((real_run / "report.json").read_text("utf-8"))
    titles = " ".join(lim["title"] for c in layout.values() for lim in c["limits"])
    for check in report.checks:
        if check.type == "availability":
            assert f"'{check.name}'" not in titles
    latency_checks = [c for c in report.checks if c.type == "latency" and c.phase]
    assert len(layout["latency"]["limits"]) == len(latency_checks)


def test_real_report_screenshot(real_run: Path, browser, tmp_path: Path) -> None:
    """A 1400x1800 screenshot of the real report is not blank (kept as docs/img/report-real.png)."""
    png = tmp_path / "report-real.png"
    browser.screenshot(real_run / "report.html", png)
    if os.environ.get("UPDATE_REAL_REPORT_SCREENSHOT") == "1":
        shutil.copyfile(png, REPO / "docs" / "img" / "report-real.png")
