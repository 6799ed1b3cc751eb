"""Every shipped drill passes against the healthy reference system (all mechanisms on)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from drill_cases import CASES, DrillCase

from harness.demo import ReferenceEnvironment, reference_environment
from harness.pytest_plugin import run_drill_in_child
from harness.results.model import Verdict

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def healthy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReferenceEnvironment]:
    """One healthy reference system behind an embedded Toxiproxy, shared by every drill here."""
    with reference_environment(tmp_path_factory.mktemp("healthy")) as env:
        yield env


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.drill)
def test_drill_passes_on_the_healthy_system(
    case: DrillCase, healthy: ReferenceEnvironment, tmp_path: Path
) -> None:
    """With every mechanism on, the drill's verdict is pass and it exits 0."""
    outcome = run_drill_in_child(
        case.path,
        reports_dir=tmp_path,
        target_url=healthy.target_url,
        toxiproxy_url=healthy.toxiproxy_url,
    )
    assert outcome.report.verdict is Verdict.PASS, outcome.explain()
    assert outcome.exit_code == 0, outcome.explain()
