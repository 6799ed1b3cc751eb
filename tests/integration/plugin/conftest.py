"""Fixtures for the plugin tests: one folder for the shipped drill's run, shared with the browser test."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def shipped_reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the shipped drill's pytester run writes its run directory (read by the browser test)."""
    return tmp_path_factory.mktemp("shipped-reports")
