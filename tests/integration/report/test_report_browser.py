"""report.html in a real headless Chromium: the page loads offline and shows what matters.

Needs /usr/bin/chromium (scripts/install-chromium; the ``browser`` fixture is in
tests/conftest.py). Set UPDATE_REPORT_SCREENSHOT=1 to refresh docs/img/report.png.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from harness.report import write_reports
from harness.report.sample import sample_report

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample report's report.html on disk."""
    run_dir = tmp_path_factory.mktemp("run")
    return write_reports(sample_report(), run_dir, ["html"])["html"]


def test_dom_shows_verdict_checks_and_charts(page: Path, browser) -> None:
    """Chromium's DOM has the verdict, every check row and three charts with fault windows."""
    dom = browser.dom(page)
    text = " ".join(dom.text)
    assert [a["data-verdict"] for a in dom.having("header", "class", "verdict")] == ["fail"]
    assert "FAIL" in text and "1 of 9 checks failed" in text
    rows = dom.having("tr", "class", "check")
    assert [r["data-check"] for r in rows] == [c.name for c in sample_report().checks]
    assert [s["data-chart"] for s in dom.having("svg", "class", "chart-svg")] == [
        "latency",
        "throughput",
        "ratios",
    ]
    assert len(dom.having("rect", "class", "fault-window")) == 3
    assert len(dom.having("line", "class", "marker-failover")) == 3


def test_screenshot_renders(page: Path, browser, tmp_path: Path) -> None:
    """A 1400x1800 screenshot is produced and is not blank (kept as docs/img/report.png)."""
    png = tmp_path / "report.png"
    browser.screenshot(page, png)
    if os.environ.get("UPDATE_REPORT_SCREENSHOT") == "1":
        shutil.copyfile(png, REPO / "docs" / "img" / "report.png")
