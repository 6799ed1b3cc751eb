"""report.html in a real headless Chromium: the page loads offline and shows what matters.

Needs /usr/bin/chromium (scripts/install-chromium). Set UPDATE_REPORT_SCREENSHOT=1 to
refresh docs/img/report.png from this test's screenshot.
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

from harness.report import write_reports
from harness.report.sample import sample_report

pytestmark = pytest.mark.slow

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
TIMEOUT_S = 60
REPO = Path(__file__).resolve().parents[3]
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
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample report's report.html on disk."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("HARNESS_REQUIRE_CHROMIUM"):
            pytest.fail(
                f"{CHROMIUM} not found although scripts/test installs it: run scripts/install-chromium"
            )
        pytest.skip(f"{CHROMIUM} not found: run scripts/install-chromium")
    run_dir = tmp_path_factory.mktemp("run")
    return write_reports(sample_report(), run_dir, ["html"])["html"]


def test_dom_shows_verdict_checks_and_charts(page: Path, tmp_path: Path) -> None:
    """Chromium's DOM has the verdict, every check row and three charts with fault windows."""
    dom = _Dom()
    dom.feed(_chromium(tmp_path / "profile", "--dump-dom", page.as_uri()))
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


def test_screenshot_renders(page: Path, tmp_path: Path) -> None:
    """A 1400x1800 screenshot is produced and is not blank (kept as docs/img/report.png)."""
    png = tmp_path / "report.png"
    _chromium(tmp_path / "profile", f"--screenshot={png}", "--window-size=1400,1800", page.as_uri())
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1400, 1800)
    assert len(data) > 50_000, "screenshot is suspiciously small (blank page?)"
    if os.environ.get("UPDATE_REPORT_SCREENSHOT") == "1":
        shutil.copyfile(png, REPO / "docs" / "img" / "report.png")
