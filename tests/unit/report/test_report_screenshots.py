"""The screenshots the README and docs/reports.md show are there, as PNGs of the size rendered."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SHOTS = {  # image -> (width, height) the browser tests render
    "report.png": (1400, 1800),
    "report-real.png": (1400, 1800),
    "report-failing.png": (1400, 3000),
}


@pytest.mark.parametrize("name", sorted(SHOTS))
def test_screenshot_is_a_png_shown_in_the_docs(name: str) -> None:
    """Each image is a PNG of its rendered size and docs/reports.md shows it."""
    data = (REPO / "docs" / "img" / name).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == SHOTS[name]
    assert f"(img/{name})" in (REPO / "docs" / "reports.md").read_text(encoding="utf-8")


def test_readme_shows_a_passing_and_a_failing_real_run() -> None:
    """The README shows a real passing run and a failing one side by side."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "(docs/img/report-real.png)" in readme and "(docs/img/report-failing.png)" in readme
