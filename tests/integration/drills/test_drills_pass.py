"""Every shipped drill passes against the healthy reference system (all mechanisms on)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from drill_cases import SHIPPED, drill_env, drill_path

from harness.demo import ReferenceEnvironment, reference_environment
from harness.pytest_plugin import run_drill_in_child
from harness.results.model import Verdict

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def healthy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReferenceEnvironment]:
    """One healthy reference system behind an embedded Toxiproxy, shared by every drill here."""
    with reference_environment(tmp_path_factory.mktemp("healthy")) as env:
        yield env


@pytest.mark.parametrize("drill", SHIPPED)
def test_drill_passes_on_the_healthy_system(
    drill: str, healthy: ReferenceEnvironment, tmp_path: Path
) -> None:
    """With every mechanism on, the drill's verdict is pass and it exits 0."""
    outcome = run_drill_in_child(
        drill_path(drill),
        reports_dir=tmp_path,
        target_url=healthy.target_url,
        toxiproxy_url=healthy.toxiproxy_url,
        env=drill_env(healthy.events_path),
    )
    assert outcome.report.verdict is Verdict.PASS, outcome.explain()
    assert outcome.exit_code == 0, outcome.explain()
    if outcome.report.sustainable_peak is not None or drill == "capacity-search":
        assert (outcome.report.sustainable_peak or 0) >= 60, outcome.explain()
