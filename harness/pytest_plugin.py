"""pytest plugin (entry point ``harness``): resilience checks as tests.

Two ways to use it:

* **Drill files as tests.** ``pytest drills/orders-primary-outage.yaml`` (or any
  ``*.yaml`` under a path listed in the ``harness_drills`` ini option) collects
  one test per SLA check of the drill: the drill runs once, in a child process
  (Locust's gevent patching stays out of the pytest process), and each check
  passes or fails with its measured value and threshold in the message.
  With ``--harness-reference``, the plugin starts the reference system behind
  an embedded Toxiproxy for the session and points drills at it.
* **Fixtures.** ``reference_environment`` (session scope) yields a running
  reference system wired through an embedded Toxiproxy and stops every process
  afterwards; ``run_drill`` runs a drill file or a :class:`~harness.drill.model.Drill`
  built in Python and returns a :class:`DrillOutcome`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.results.model import CheckResult, RunReport, Verdict

CHILD_TIMEOUT_MARGIN_S = 120.0


@dataclass(frozen=True)
class DrillOutcome:
    """What a drill run from a test produced."""

    report: RunReport
    run_dir: Path
    exit_code: int

    @property
    def failed_checks(self) -> list[CheckResult]:
        return [c for c in self.report.checks if not c.passed]

    def explain(self) -> str:
        lines = [f"verdict {self.report.verdict.value}: {self.report.verdict_reason}"]
        for check in self.report.checks:
            mark = "pass" if check.passed else "FAIL"
            lines.append(
                f"  [{mark}] {check.name}: measured {check.measured} {check.unit}, "
                f"threshold {check.comparator} {check.threshold:g}; {check.detail}"
            )
        lines.append(f"  report: {self.run_dir / 'report.html'}")
        return "\n".join(lines)


def run_drill_in_child(
    drill: Any,
    *,
    reports_dir: Path,
    target_url: str | None = None,
    toxiproxy_url: str | None = None,
    run_id: str | None = None,
    timeout_s: float | None = None,
) -> DrillOutcome:
    """Run a drill file (path) or a Drill object with ``harness run`` in a child process."""
    from harness.drill.model import Drill

    reports_dir.mkdir(parents=True, exist_ok=True)
    if isinstance(drill, Drill):
        path = reports_dir / f"{drill.name}.drill.json"
        path.write_text(json.dumps(drill.model_dump(mode="json", by_alias=True)), encoding="utf-8")
        duration_s = drill.duration_s
    else:
        path = Path(drill)
        duration_s = None
    import uuid

    run_id = run_id or f"pytest-{path.stem.split('.')[0]}-{uuid.uuid4().hex[:6]}"
    command = [
        sys.executable,
        "-m",
        "harness",
        "run",
        str(path),
        "--live",
        "plain",
        "--reports-dir",
        str(reports_dir),
        "--run-id",
        run_id,
    ]
    if target_url:
        command += ["--target-url", target_url]
    if toxiproxy_url:
        command += ["--toxiproxy-url", toxiproxy_url]
    limit = timeout_s or ((duration_s or 300.0) + CHILD_TIMEOUT_MARGIN_S)
    completed = subprocess.run(command, capture_output=True, text=True, timeout=limit, check=False)
    run_dir = reports_dir / run_id
    report_path = run_dir / "report.json"
    if not report_path.is_file():
        raise RuntimeError(
            f"harness run exited {completed.returncode} without a report for {path}:\n"
            f"{completed.stderr.strip() or completed.stdout.strip()}"
        )
    report = RunReport.model_validate_json(report_path.read_text(encoding="utf-8"))
    return DrillOutcome(report=report, run_dir=run_dir, exit_code=completed.returncode)


# -- options and fixtures ------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "resilience drills")
    group.addoption(
        "--harness-reference",
        action="store_true",
        help="run collected drill files against the reference system (started for the session)",
    )
    group.addoption(
        "--harness-reports-dir",
        default=None,
        help="where drill runs write their reports (default: a pytest temp dir)",
    )
    parser.addini(
        "harness_drills",
        type="paths",
        default=[],
        help="folders whose *.yaml drill files are collected as tests",
    )


@pytest.fixture(scope="session")
def harness_reports_dir(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """Where drills run from tests write their reports."""
    configured = request.config.getoption("--harness-reports-dir")
    return Path(configured) if configured else tmp_path_factory.mktemp("harness-reports")


@pytest.fixture(scope="session")
def reference_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The reference system behind a fresh embedded Toxiproxy, for the whole session."""
    from harness.demo import reference_environment as start

    with start(tmp_path_factory.mktemp("helpdesk")) as env:
        yield env


@pytest.fixture
def run_drill(harness_reports_dir: Path) -> Callable[..., DrillOutcome]:
    """Run a drill (file path or Drill object) in a child process and return its outcome."""

    def run(drill: Any, **kwargs: Any) -> DrillOutcome:
        return run_drill_in_child(drill, reports_dir=harness_reports_dir, **kwargs)

    return run


# -- drill files as tests -------------------------------------------------------------


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    if file_path.suffix not in (".yaml", ".yml"):
        return None
    config = parent.config
    roots = [Path(p).resolve() for p in config.getini("harness_drills")]
    explicit = any(Path(a).resolve() == file_path.resolve() for a in config.args)
    if not explicit and not any(root in file_path.resolve().parents for root in roots):
        return None
    return DrillFile.from_parent(parent, path=file_path)


class DrillFile(pytest.File):
    """A drill file: one test item per SLA check; the drill runs once for all of them."""

    def collect(self) -> Iterator[pytest.Item]:
        from harness.drill.analysis import scoped_checks
        from harness.drill.loader import load_drill
        from harness.errors import InputError

        try:
            drill = load_drill(self.path)
        except InputError as exc:
            raise self.CollectError(str(exc)) from None
        self._outcome: DrillOutcome | None = None
        for index, spec in enumerate(scoped_checks(drill)):
            yield CheckItem.from_parent(self, name=f"{index:02d} {spec.display_name}", index=index)
        yield VerdictItem.from_parent(self, name="verdict")

    def outcome(self, request_env: Any | None, reports_dir: Path) -> DrillOutcome:
        if self._outcome is None:
            self._outcome = run_drill_in_child(
                self.path,
                reports_dir=reports_dir,
                target_url=request_env.target_url if request_env else None,
                toxiproxy_url=request_env.toxiproxy_url if request_env else None,
            )
        return self._outcome


class _DrillItem(pytest.Item):
    def _outcome(self) -> DrillOutcome:
        env = (
            _session_reference(self.config)
            if self.config.getoption("--harness-reference")
            else None
        )
        return self.parent.outcome(env, _session_reports_dir(self.config))  # type: ignore[attr-defined]

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"drill {self.path.name}: {self.name}"


_REFERENCE_KEY = pytest.StashKey[Any]()
_REPORTS_KEY = pytest.StashKey[Path]()


def _session_reference(config: pytest.Config) -> Any:
    """The reference environment for collected drill files: started once, stopped at session end."""
    if _REFERENCE_KEY not in config.stash:
        from contextlib import ExitStack

        from harness.demo import reference_environment as start

        stack = ExitStack()
        config.add_cleanup(stack.close)
        state_dir = _session_reports_dir(config) / "helpdesk"
        config.stash[_REFERENCE_KEY] = stack.enter_context(start(state_dir))
    return config.stash[_REFERENCE_KEY]


def _session_reports_dir(config: pytest.Config) -> Path:
    if _REPORTS_KEY not in config.stash:
        configured = config.getoption("--harness-reports-dir")
        factory = config._tmp_path_factory  # type: ignore[attr-defined]  # noqa: SLF001
        config.stash[_REPORTS_KEY] = Path(configured) if configured else factory.mktemp("drills")
    return config.stash[_REPORTS_KEY]


class CheckItem(_DrillItem):
    """One SLA check of a drill, as a test."""

    def __init__(self, *, index: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.index = index

    def runtest(self) -> None:
        outcome = self._outcome()
        check = outcome.report.checks[self.index]
        if not check.passed:
            raise CheckFailed(check, outcome)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, CheckFailed):
            return excinfo.value.describe()
        return super().repr_failure(excinfo)


class VerdictItem(_DrillItem):
    """The drill's verdict, as a test: aborted or inconclusive runs fail here."""

    def runtest(self) -> None:
        outcome = self._outcome()
        if outcome.report.verdict in (Verdict.ABORTED, Verdict.INCONCLUSIVE):
            raise CheckFailed(None, outcome)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, CheckFailed):
            return excinfo.value.describe()
        return super().repr_failure(excinfo)


class CheckFailed(AssertionError):
    def __init__(self, check: CheckResult | None, outcome: DrillOutcome) -> None:
        super().__init__(check.name if check else outcome.report.verdict.value)
        self.check = check
        self.outcome = outcome

    def describe(self) -> str:
        if self.check is None:
            return (
                f"drill {self.outcome.report.verdict.value}: {self.outcome.report.verdict_reason}"
            )
        c = self.check
        measured = "no data" if c.measured is None else f"{c.measured:g} {c.unit}"
        return (
            f"{c.name}: measured {measured}, required {c.comparator} {c.threshold:g} {c.unit}\n"
            f"{c.detail}\nreport: {self.outcome.run_dir / 'report.html'}"
        )
