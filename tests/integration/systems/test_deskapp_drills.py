"""A real drill against deskapp (the second system under test), in a child process.

The same customer path (form, POST with the CSRF token, the ticket page) with the
database slowed through the ``deskapp_db`` proxy: by 100 ms the drill passes; by
1.2 s (under the app's 2 s command timeout) it fails, and only its latency check
under the fault fails: no errors, and the baseline held.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.pytest_plugin import run_drill_in_child
from harness.results.model import Verdict
from tests.systems.deskapp.fixtures import DRILLS_DIR, DeskappEnv

pytestmark = pytest.mark.slow

DRILL_TIMEOUT_S = 90.0  # a 5 s drill; the rest is start-up, drain and analysis on a busy machine


def run(drill: str, env: DeskappEnv, reports: Path):  # noqa: ANN201 (harness's DrillOutcome)
    return run_drill_in_child(
        DRILLS_DIR / f"{drill}.yaml",
        reports_dir=reports,
        target_url=env.app_url,
        toxiproxy_url=env.toxiproxy_url,
        timeout_s=DRILL_TIMEOUT_S,
    )


def test_db_slowed_by_100ms_keeps_the_customer_path_within_its_sla(
    deskapp_env: DeskappEnv, tmp_path: Path
) -> None:
    """deskapp-db-slow passes (exit 0) and the customer path really ran: tickets were created."""
    outcome = run("deskapp-db-slow", deskapp_env, tmp_path)
    assert outcome.report.verdict is Verdict.PASS, outcome.explain()
    assert outcome.exit_code == 0, outcome.explain()
    with deskapp_env.client(staff=True) as staff:
        assert staff.get("/staff/api/tickets").json()["count"] > 0


def test_db_stalled_breaches_the_latency_sla_and_nothing_else(
    deskapp_env: DeskappEnv, tmp_path: Path
) -> None:
    """deskapp-db-stalled fails (exit 1) on the latency check under the fault, p95 >= 1.2 s."""
    outcome = run("deskapp-db-stalled", deskapp_env, tmp_path)
    assert outcome.report.verdict is Verdict.FAIL, outcome.explain()
    assert outcome.exit_code == 1, outcome.explain()
    failed = [c.name for c in outcome.failed_checks]
    assert failed == ["customer path within 800 ms under a slow database"], outcome.explain()
    breached = outcome.check("customer path within 800 ms under a slow database")
    assert breached.measured is not None and breached.measured >= 1200, outcome.explain()
