"""Every shipped drill passes against the healthy reference system (all mechanisms on).

The runs happen once, a few systems at a time, in the ``drill_runs`` fixture (conftest.py, drill_jobs.py).
"""

from __future__ import annotations

import pytest
from drill_cases import SHIPPED
from drill_jobs import Health, Outcomes, outcome_of

from harness.results.model import Verdict

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]  # the first test waits for every run


@pytest.mark.parametrize("drill", SHIPPED)
def test_drill_passes_on_the_healthy_system(drill: str, drill_runs: Outcomes) -> None:
    """With every mechanism on, the drill's verdict is pass and it exits 0."""
    outcome = outcome_of(drill_runs, Health.HEALTHY, drill)
    assert outcome.report.verdict is Verdict.PASS, outcome.explain()
    assert outcome.exit_code == 0, outcome.explain()
    if outcome.report.sustainable_peak is not None or drill == "capacity-search":
        assert (outcome.report.sustainable_peak or 0) >= 60, outcome.explain()
