"""The reference environment: the embedded Toxiproxy and the reference system wired through it.

Used by ``harness demo`` and by the pytest plugin's fixtures: start both, yield
their URLs, and stop every process afterwards, also on error or Ctrl-C.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from helpdesk.config import FrontSettings, Mechanism
from helpdesk.launcher import SystemConfig, start_system
from toxiserver import start_subprocess


@dataclass(frozen=True)
class ReferenceEnvironment:
    target_url: str
    toxiproxy_url: str
    events_path: Path


@contextmanager
def reference_environment(
    state_dir: Path,
    *,
    disabled: frozenset[Mechanism] = frozenset(),
    seed: int | None = None,
    settings: FrontSettings | None = None,
) -> Iterator[ReferenceEnvironment]:
    """A running reference system whose dependencies sit behind a fresh embedded Toxiproxy."""
    with start_subprocess(port=0, seed=seed) as toxiproxy:
        config = SystemConfig(
            state_dir=state_dir,
            toxiproxy_url=toxiproxy.url,
            disabled=disabled,
            settings=settings or FrontSettings(),
        )
        with start_system(config) as system:
            yield ReferenceEnvironment(system.front_url, toxiproxy.url, system.events_path)
