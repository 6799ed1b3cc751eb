"""Fixtures of the drill-safety tests: a controlled target behind a fresh Toxiproxy, per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from safety_helpers import DrillEnv, drill_env


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DrillEnv]:
    """A controlled target and an embedded Toxiproxy, with this test's own fault-ledger folder."""
    monkeypatch.setenv("HARNESS_STATE_DIR", str(tmp_path / "state"))
    with drill_env() as running:
        yield running
