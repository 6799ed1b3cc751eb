"""Fixtures of the load tests: a small HTTP target in its own process, always stopped."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.servers import served

HERE = Path(__file__).resolve().parent


@dataclass
class Target:
    url: str

    def counts(self) -> dict[str, int]:
        with urllib.request.urlopen(f"{self.url}/counts", timeout=5) as response:
            return json.loads(response.read())


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    """The test HTTP server (load_server.py) in a child process."""
    with served(HERE / "load_server.py") as url:
        yield Target(url)
