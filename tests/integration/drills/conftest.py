"""The drill runs the drill tests judge: see drill_jobs.py."""

from __future__ import annotations

import pytest
from drill_cases import CASES, SHIPPED
from drill_jobs import Outcomes, plan_jobs, run_jobs

from tests.background import yield_to_me


def _selected(session: pytest.Session, module_name: str) -> list[pytest.Item]:
    return [
        item
        for item in session.items
        if item.nodeid.split("::")[0].endswith(module_name) and hasattr(item, "callspec")
    ]


@pytest.fixture(scope="session")
def drill_runs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Outcomes:
    """The outcome of each selected drill, on a healthy system and without its mechanism."""
    healthy = {
        i.callspec.params["drill"] for i in _selected(request.session, "test_drills_pass.py")
    }
    broken = {i.callspec.params["case"] for i in _selected(request.session, "test_drills_fail.py")}
    jobs = plan_jobs(
        [drill for drill in SHIPPED if drill in healthy],
        [case for case in CASES if case in broken],
    )
    yield_to_me()  # the drills judge latency: the rest of the run waits for the CPU
    return run_jobs(jobs, tmp_path_factory.mktemp("drills"))
