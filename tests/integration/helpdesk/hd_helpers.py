"""Helpers shared by the helpdesk integration tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from helpdesk import FrontSettings, RunningSystem
from helpdesk.events import read_events

# Small thresholds so tests trip them with a handful of requests.
TEST_SETTINGS = FrontSettings(shed_rps=20, handoff_max_position=3)


def set_fault(url: str, mode: str, delay_s: float = 0.0) -> None:
    """Switch the fault hook of one dependency process (none, error, delay)."""
    httpx.post(f"{url}/admin/fault", json={"mode": mode, "delay_s": delay_s}, trust_env=False)


def wait_for(check: Callable[[], Any], timeout_s: float = 10, step_s: float = 0.1) -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout_s} s")
        time.sleep(step_s)


def events_of(system: RunningSystem, kind: str, **match: str) -> list[dict[str, Any]]:
    """Events of one kind in the system's events.jsonl, filtered by field values."""
    return [
        e
        for e in read_events(system.events_path)
        if e["event"] == kind and all(e.get(k) == v for k, v in match.items())
    ]


def assert_marked(response: httpx.Response, mode: str) -> None:
    """The header marker and the JSON ``mode`` field both say ``mode``."""
    assert response.headers["X-Helpdesk-Mode"] == mode
    assert response.json()["mode"] == mode
