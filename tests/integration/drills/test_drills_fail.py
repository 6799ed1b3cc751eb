"""Every shipped drill fails for the right reason when the mechanism it guards is switched off.

Each case runs against a reference system with exactly its mechanism disabled (one
system per mechanism, its drills one after another); the runs happen once, a few
systems at a time, in the ``drill_runs`` fixture (conftest.py, drill_jobs.py), and each test then
judges one run.
UPDATE_FAILING_REPORT_SCREENSHOT=1 also renders the failing orders-primary-outage run's
report.html in headless Chromium into docs/img/report-failing.png (skipped otherwise, so
the suite pays no browser for it).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from drill_cases import CASES, DrillCase
from drill_jobs import Health, Outcomes, outcome_of

from harness.pytest_plugin import DrillOutcome
from harness.results.model import CheckResult, Verdict
from helpdesk.config import Mechanism

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]  # the first test waits for every run

REPO = Path(__file__).resolve().parents[3]
SCREENSHOT_CASE = ("orders-primary-outage", Mechanism.FAILOVER)  # docs/img/report-failing.png


def _by_name(outcome: DrillOutcome) -> dict[str, CheckResult]:
    return {check.name: check for check in outcome.report.checks}


@pytest.mark.parametrize(
    "case", CASES, ids=lambda case: f"{case.drill}-without-{case.mechanism.value}"
)
def test_drill_fails_for_the_right_reason_without_its_mechanism(
    case: DrillCase, drill_runs: Outcomes
) -> None:
    """Without the guarded mechanism the verdict is fail (exit 1), the behaviour checks fail and the isolation checks hold."""
    outcome = outcome_of(drill_runs, Health.BROKEN, case.drill, case.mechanism)
    checks = _by_name(outcome)
    assert outcome.report.verdict is Verdict.FAIL, outcome.explain()
    assert outcome.exit_code == 1, outcome.explain()
    for name in (*case.must_fail, *case.must_hold):
        assert name in checks, f"check {name!r} missing from {case.drill}:\n{outcome.explain()}"
    for name in case.must_fail:
        assert not checks[name].passed, f"{name!r} should fail:\n{outcome.explain()}"
    for name in case.must_hold:
        assert checks[name].passed, f"{name!r} should hold:\n{outcome.explain()}"


@pytest.mark.skipif(
    os.environ.get("UPDATE_FAILING_REPORT_SCREENSHOT") != "1",
    reason="refreshes docs/img/report-failing.png only when UPDATE_FAILING_REPORT_SCREENSHOT=1",
)
@pytest.mark.parametrize(
    "case",
    [c for c in CASES if (c.drill, c.mechanism) == SCREENSHOT_CASE],
    ids=lambda case: case.drill,
)
def test_failing_report_screenshot(
    case: DrillCase,
    drill_runs: Outcomes,
    browser,
    tmp_path: Path,
) -> None:
    """The failing run's report.html, 1400x3000 in Chromium (down to the target's state lanes),
    becomes docs/img/report-failing.png."""
    outcome = outcome_of(drill_runs, Health.BROKEN, case.drill, case.mechanism)
    assert outcome.report.verdict is Verdict.FAIL, outcome.explain()
    png = tmp_path / "report-failing.png"
    browser.screenshot(outcome.run_dir / "report.html", png, height=3000)
    shutil.copyfile(png, REPO / "docs" / "img" / "report-failing.png")
