"""Suite-wide fixtures: fault ledgers in a temporary folder per run, and headless Chromium.

Also the grouping and order of the test modules for pytest-xdist (scripts/test runs the
suite in four worker processes): see XDIST_GROUPS.
"""

from __future__ import annotations

import os
import signal
import struct
import subprocess
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

# Test modules that share a session fixture: each group runs in one pytest-xdist worker,
# so the fixture is set up once. Every other module is a group of its own.
XDIST_GROUPS = {
    # the browser test reads the run directory of the plugin test's shipped-drill run
    "tests/integration/plugin/test_plugin_drills.py": "plugin-shipped-drill",
    "tests/integration/plugin/test_plugin_report_browser.py": "plugin-shipped-drill",
    # one fixture runs every shipped drill, healthy and without its mechanism
    "tests/integration/drills/test_drills_pass.py": "shipped-drills",
    "tests/integration/drills/test_drills_fail.py": "shipped-drills",
}


def xdist_group(nodeid: str) -> str:
    """The group of a test: its module's entry in XDIST_GROUPS, else the module itself."""
    module = nodeid.split("::", 1)[0]
    return XDIST_GROUPS.get(module, module)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Keep each group together and put the groups with the most ``slow`` tests first.

    Stable otherwise. Under pytest-xdist (scripts/test: ``-n 4 --dist loadscope
    --no-loadscope-reorder``) a worker takes one group at a time in this order, so the
    longest groups start at once and the short ones fill the gaps.
    """
    slow: dict[str, int] = {}
    first: dict[str, int] = {}
    for index, item in enumerate(items):
        group = xdist_group(item.nodeid)
        first.setdefault(group, index)
        slow[group] = slow.get(group, 0) + (item.get_closest_marker("slow") is not None)
    items.sort(key=lambda item: (-slow[xdist_group(item.nodeid)], first[xdist_group(item.nodeid)]))


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadscope`` with XDIST_GROUPS as scopes (xdist's own ``loadgroup`` relies on
    rewriting node ids, which pytest 9 no longer allows)."""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return xdist_group(nodeid)

    return GroupScheduling(config, log)


@pytest.fixture(scope="session", autouse=True)
def isolated_harness_state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """HARNESS_STATE_DIR points at a fresh folder, inherited by every child process of the run."""
    state_dir = tmp_path_factory.mktemp("harness-state")
    previous = os.environ.get("HARNESS_STATE_DIR")
    os.environ["HARNESS_STATE_DIR"] = str(state_dir)
    try:
        yield state_dir
    finally:
        if previous is None:
            os.environ.pop("HARNESS_STATE_DIR", None)
        else:
            os.environ["HARNESS_STATE_DIR"] = previous


# -- headless Chromium, for the report tests ---------------------------------------------

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_TIMEOUT_S = 60
CHROMIUM_FLAGS = [
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


class Dom(HTMLParser):
    """The tags and text of a page as Chromium's --dump-dom printed it."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def having(self, tag: str, attr: str, word: str) -> list[dict[str, str]]:
        return [a for t, a in self.tags if t == tag and word in a.get(attr, "").split()]


class Browser:
    """Headless Chromium, one process group a call, always killed afterwards."""

    def __init__(self, profile_root: Path) -> None:
        self.profile_root = profile_root
        self._calls = 0

    def dom(self, page: Path) -> Dom:
        return Dom(self._run("--dump-dom", page.as_uri()))

    def screenshot(self, page: Path, png: Path, width: int = 1400, height: int = 1800) -> bytes:
        self._run(f"--screenshot={png}", f"--window-size={width},{height}", page.as_uri())
        data = png.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert struct.unpack(">II", data[16:24]) == (width, height)
        assert len(data) > 50_000, "screenshot is suspiciously small (blank page?)"
        return data

    def _run(self, *args: str) -> str:
        self._calls += 1
        profile = self.profile_root / f"profile-{self._calls}"
        proc = subprocess.Popen(
            [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            out, err = proc.communicate(timeout=CHROMIUM_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            _, err = proc.communicate()
            pytest.fail(f"chromium did not finish within {CHROMIUM_TIMEOUT_S} s:\n{err[-2000:]}")
        finally:
            _kill_group(proc)
        assert proc.returncode == 0, f"chromium exited {proc.returncode}:\n{err[-2000:]}"
        return out


def _kill_group(proc: subprocess.Popen[str]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the browser's helpers share its group
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Browser:
    """Headless Chromium; skipped when missing, a failure when scripts/test promised it."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("HARNESS_REQUIRE_CHROMIUM"):
            pytest.fail(f"{CHROMIUM} not found although scripts/test installs it")
        pytest.skip(f"{CHROMIUM} not found: run scripts/install-chromium")
    return Browser(tmp_path_factory.mktemp("chromium"))
