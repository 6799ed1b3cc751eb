"""Every shipped drill fails for the right reason when the mechanism it guards is switched off.

Each case gets its own reference system with exactly one mechanism disabled. The
runs are independent (separate processes, ports and Toxiproxy servers), so the
module runs them a few at a time, once, and each test then judges one run.
UPDATE_FAILING_REPORT_SCREENSHOT=1 also renders the failing orders-primary-outage run's
report.html in headless Chromium into docs/img/report-failing.png (skipped otherwise, so
the suite pays no browser for it).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from drill_cases import CASES, DrillCase, drill_env

from harness.demo import reference_environment
from harness.pytest_plugin import DrillOutcome, run_drill_in_child
from harness.results.model import CheckResult, Verdict

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[3]
SCREENSHOT_DRILL = "orders-primary-outage"  # its failing run is docs/img/report-failing.png

PARALLEL_RUNS = 3


def _run_broken(case: DrillCase, root: Path) -> DrillOutcome:
    """Start a system without the case's mechanism, run its drill once, stop everything."""
    folder = root / case.drill
    with reference_environment(folder / "sys", disabled=frozenset({case.mechanism})) as env:
        return run_drill_in_child(
            case.path,
            reports_dir=folder / "reports",
            target_url=env.target_url,
            toxiproxy_url=env.toxiproxy_url,
            env=drill_env(env.events_path),
        )


@pytest.fixture(scope="module")
def broken_runs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, DrillOutcome | BaseException]]:
    """The outcome of each selected case's drill against a system missing its mechanism."""
    selected = {
        item.callspec.params["case"].drill
        for item in request.session.items
        if item.module is request.module and hasattr(item, "callspec")
    }
    cases = [case for case in CASES if case.drill in selected]
    root = tmp_path_factory.mktemp("broken")
    results: dict[str, DrillOutcome | BaseException] = {}
    with ThreadPoolExecutor(max_workers=PARALLEL_RUNS) as pool:
        futures = {case.drill: pool.submit(_run_broken, case, root) for case in cases}
        for drill, future in futures.items():
            try:
                results[drill] = future.result()
            except Exception as exc:  # reported by the test of that case
                results[drill] = exc
    yield results


def _by_name(outcome: DrillOutcome) -> dict[str, CheckResult]:
    return {check.name: check for check in outcome.report.checks}


@pytest.mark.parametrize(
    "case", CASES, ids=lambda case: f"{case.drill}-without-{case.mechanism.value}"
)
def test_drill_fails_for_the_right_reason_without_its_mechanism(
    case: DrillCase, broken_runs: dict[str, DrillOutcome | BaseException]
) -> None:
    """Without the guarded mechanism the verdict is fail (exit 1), the behaviour checks fail and the isolation checks hold."""
    outcome = broken_runs[case.drill]
    if isinstance(outcome, BaseException):
        raise outcome
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
    "case", [c for c in CASES if c.drill == SCREENSHOT_DRILL], ids=lambda case: case.drill
)
def test_failing_report_screenshot(
    case: DrillCase,
    broken_runs: dict[str, DrillOutcome | BaseException],
    browser,
    tmp_path: Path,
) -> None:
    """The failing run's report.html, 1400x3000 in Chromium (down to the target's state lanes),
    becomes docs/img/report-failing.png."""
    outcome = broken_runs[case.drill]
    if isinstance(outcome, BaseException):
        raise outcome
    assert outcome.report.verdict is Verdict.FAIL, outcome.explain()
    png = tmp_path / "report-failing.png"
    browser.screenshot(outcome.run_dir / "report.html", png, height=3000)
    shutil.copyfile(png, REPO / "docs" / "img" / "report-failing.png")
