"""report.html of a real drill (the shipped one, run by the plugin test) in headless Chromium.

Reuses the run directory of test_plugin_drills.py's shipped-drill run when it ran
in this session, else runs the shipped drill against the reference system. Needs
/usr/bin/chromium (scripts/install-chromium); HARNESS_REQUIRE_CHROMIUM=1 turns a
missing browser into a failure. UPDATE_REAL_REPORT_SCREENSHOT=1 refreshes
docs/img/report-real.png from this test's screenshot.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

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


def test_real_report_shows_verdict_checks_and_fault_windows(real_run: Path, browser) -> None:
    """Chromium's DOM of a real drill's report has its verdict, every check and shaded faults."""
    report = RunReport.model_validate_json((real_run / "report.json").read_text(encoding="utf-8"))
    dom = browser.dom(real_run / "report.html")
    verdicts = [a["data-verdict"] for a in dom.having("header", "class", "verdict")]
    assert verdicts == [report.verdict.value]
    assert report.verdict_reason in " ".join(dom.text)
    rows = dom.having("tr", "class", "check")
    assert [r["data-check"] for r in rows] == [c.name for c in report.checks]
    charts = [s["data-chart"] for s in dom.having("svg", "class", "chart-svg")]
    # the load generator's own lag and CPU come after the system's charts
    assert charts == ["latency", "throughput", "ratios", "generator-lag", "generator-cpu"]
    windows = dom.having("rect", "class", "fault-window")
    assert [w["data-fault"] for w in windows] == ["orders-primary-down"] * len(charts)
    assert [float(w["width"]) > 0 for w in windows] == [True] * len(charts)


def test_real_report_screenshot(real_run: Path, browser, tmp_path: Path) -> None:
    """A 1400x1800 screenshot of the real report is not blank (kept as docs/img/report-real.png)."""
    png = tmp_path / "report-real.png"
    browser.screenshot(real_run / "report.html", png)
    if os.environ.get("UPDATE_REAL_REPORT_SCREENSHOT") == "1":
        shutil.copyfile(png, REPO / "docs" / "img" / "report-real.png")
