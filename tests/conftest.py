"""Suite-wide settings: every test run keeps its fault ledgers in its own temporary folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest


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
