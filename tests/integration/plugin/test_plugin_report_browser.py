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
import signal
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from plugin_drills import REPO, SHIPPED_DRILL

from harness.pytest_plugin import run_drill_in_child
from harness.results.model import RunReport

pytestmark = pytest.mark.slow

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
TIMEOUT_S = 60
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
    "--mute-audio",
]


def _chromium(profile: Path, *args: str) -> str:
    """Run Chromium with ``args`` in its own process group; always kill the whole group."""
    proc = subprocess.Popen(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        _, err = proc.communicate()
        pytest.fail(f"chromium did not finish within {TIMEOUT_S} s; stderr tail:\n{err[-2000:]}")
    finally:
        _kill_group(proc)
    assert proc.returncode == 0, f"chromium exited {proc.returncode}; stderr tail:\n{err[-2000:]}"
    return out


def _kill_group(proc: subprocess.Popen[str]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the browser's helpers share its group
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)


class _Dom(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def having(self, tag: str, attr: str, word: str) -> list[dict[str, str]]:
        return [a for t, a in self.tags if t == tag and word in a.get(attr, "").split()]


@pytest.fixture(scope="module")
def real_run(shipped_reports: Path, request: pytest.FixtureRequest) -> Path:
    """The run directory of a real run of the shipped drill."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("HARNESS_REQUIRE_CHROMIUM"):
            pytest.fail(f"{CHROMIUM} not found although scripts/test installs it")
        pytest.skip(f"{CHROMIUM} not found: run scripts/install-chromium")
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


def test_real_report_shows_verdict_checks_and_fault_windows(real_run: Path, tmp_path: Path) -> None:
    """Chromium's DOM of a real drill's report has its verdict, every check and shaded faults."""
    report = RunReport.model_validate_json((real_run / "report.json").read_text(encoding="utf-8"))
    dom = _Dom()
    dom.feed(_chromium(tmp_path / "profile", "--dump-dom", (real_run / "report.html").as_uri()))
    verdicts = [a["data-verdict"] for a in dom.having("header", "class", "verdict")]
    assert verdicts == [report.verdict.value]
    assert report.verdict_reason in " ".join(dom.text)
    rows = dom.having("tr", "class", "check")
    assert [r["data-check"] for r in rows] == [c.name for c in report.checks]
    charts = [s["data-chart"] for s in dom.having("svg", "class", "chart-svg")]
    assert charts == ["latency", "throughput", "ratios"]
    windows = dom.having("rect", "class", "fault-window")
    assert [w["data-fault"] for w in windows] == ["orders-primary-down"] * len(charts)
    assert [float(w["width"]) > 0 for w in windows] == [True] * len(charts)


def test_real_report_screenshot(real_run: Path, tmp_path: Path) -> None:
    """A 1400x1800 screenshot of the real report is not blank (kept as docs/img/report-real.png)."""
    png = tmp_path / "report-real.png"
    page = (real_run / "report.html").as_uri()
    _chromium(tmp_path / "profile", f"--screenshot={png}", "--window-size=1400,1800", page)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (1400, 1800)
    assert len(data) > 50_000, "screenshot is suspiciously small (blank page?)"
    if os.environ.get("UPDATE_REAL_REPORT_SCREENSHOT") == "1":
        shutil.copyfile(png, REPO / "docs" / "img" / "report-real.png")
