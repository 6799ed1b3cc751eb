"""Fixtures: one shared helpdesk for the behaviour tests, always stopped."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from hd_helpers import TEST_SETTINGS

from helpdesk import RunningSystem, SystemConfig, start_system


@pytest.fixture(scope="session")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    """The whole helpdesk, started once for the session and always stopped."""
    state_dir = tmp_path_factory.mktemp("helpdesk")
    running = start_system(SystemConfig(state_dir=state_dir, settings=TEST_SETTINGS))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture()
def front(system: RunningSystem) -> Iterator[httpx.Client]:
    """An HTTP client on the shared front."""
    with httpx.Client(base_url=system.front_url, timeout=10, trust_env=False) as client:
        yield client
