"""pytest plugin (entry point ``harness``): resilience checks as tests.

Two ways to use it (docs/ci.md has the whole story):

* **Drill files as tests.** ``pytest drills/orders-primary-outage.yaml`` (a
  ``*.yaml`` file given on the command line, or any ``*.yaml`` under a folder
  listed in the ``harness_drills`` ini option) collects one test per SLA check of
  the drill plus a ``verdict`` test. The drill runs once, in a child process
  (``python -m harness run``: Locust's gevent patching stays out of the pytest
  process), and each check passes or fails with measured value, threshold and
  report path in the message.
* **Fixtures.** ``reference_environment`` (session) is the reference system
  behind an embedded Toxiproxy, stopped at the end of the session (also after a
  failure or Ctrl-C); ``run_drill`` runs a drill file or a
  :class:`~harness.drill.model.Drill` built in Python and returns a
  :class:`DrillOutcome` (``outcome.assert_passed()``, ``outcome.check(name)``).

Where drills send traffic: ``--harness-reference`` starts the reference system
for the session; ``--harness-target-url``/``--harness-toxiproxy-url`` point at a
system that is already running; without either, each drill file's own
``target``/``toxiproxy`` are used. Every test that runs a drill carries the
``harness`` marker (``-m "not harness"`` skips them).

Importing this module stays cheap (it is loaded by every pytest run of a project
that installs the harness): the drill model, pydantic reports and the reference
system are imported only when a drill is collected or run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from harness.demo import ReferenceEnvironment
    from harness.drill.model import Drill
    from harness.results.model import CheckResult, RunReport

__all__ = ["DrillFailed", "DrillOutcome", "DrillRunError", "run_drill_in_child"]

CHILD_TIMEOUT_MARGIN_S = 120.0  # on top of the drill's duration: start-up, read-back, analysis
STOP_GRACE_S = 20.0  # after SIGTERM, time for the child to revert its faults before SIGKILL
LOG_TAIL_LINES = 30


class DrillRunError(Exception):
    """A drill produced no report: invalid input (exit 2), unreachable infrastructure, a timeout."""


class DrillFailed(AssertionError):
    """Raised by :meth:`DrillOutcome.assert_passed`: the message explains every failed check."""


@dataclass(frozen=True)
class DrillOutcome:
    """What one drill run from a test produced: the report, where it is, how the child exited."""

    report: RunReport
    run_dir: Path
    exit_code: int
    log_path: Path | None = None

    @property
    def passed(self) -> bool:
        return self.report.verdict.value == "pass"

    @property
    def failed_checks(self) -> list[CheckResult]:
        return [c for c in self.report.checks if not c.passed]

    @property
    def report_html(self) -> Path:
        return self.run_dir / "report.html"

    def check(self, name: str) -> CheckResult:
        """The check called ``name`` (its given or derived name, as in the report)."""
        for check in self.report.checks:
            if check.name == name:
                return check
        known = ", ".join(repr(c.name) for c in self.report.checks)
        raise KeyError(f"drill {self.report.drill!r} has no check {name!r} (checks: {known})")

    def explain(self, *, only_failed: bool = False) -> str:
        """The verdict, then one line per check with measured value and threshold, then the report."""
        lines = [
            f"drill {self.report.drill}: {self.report.verdict.value.upper()} - "
            f"{self.report.verdict_reason}"
        ]
        for check in self.report.checks:
            if only_failed and check.passed:
                continue
            lines.append(f"  [{'pass' if check.passed else 'FAIL'}] {describe_check(check)}")
        lines.append(f"  report: {self.report_html}")
        return "\n".join(lines)

    def assert_passed(self) -> None:
        """Raise :class:`DrillFailed` naming every failed check unless the verdict is pass."""
        if not self.passed:
            raise DrillFailed(self.explain(only_failed=True))


def describe_check(check: CheckResult) -> str:
    """``name: measured X unit, required <= Y unit - detail``."""
    unit = f" {check.unit}" if check.unit else ""
    measured = "no data" if check.measured is None else f"{check.measured:.4g}{unit}"
    text = (
        f"{check.name}: measured {measured}, required {check.comparator} {check.threshold:g}{unit}"
    )
    return f"{text} - {check.detail}" if check.detail else text


# -- running a drill in a child process -----------------------------------------------


def run_drill_in_child(
    drill: Drill | str | Path,
    *,
    reports_dir: Path,
    target_url: str | None = None,
    toxiproxy_url: str | None = None,
    run_id: str | None = None,
    timeout_s: float | None = None,
    env: Mapping[str, str] | None = None,
) -> DrillOutcome:
    """Run a drill file (path) or a Drill object with ``python -m harness run`` in a child process.

    ``env`` adds environment variables for the child (e.g. ``HELPDESK_STATE_DIR`` for the
    ``${...}`` of process faults).

    The child's output (the plain live view and the verdict) goes to
    ``<reports_dir>/<run_id>.log``. On timeout, Ctrl-C or any error the child gets
    SIGTERM (it reverts its faults) and, after a grace period, its whole process
    group gets SIGKILL. Raises :class:`DrillRunError` when no report was written.
    """
    reports_dir = Path(reports_dir)
    reports_dir.mkdir(parents=True, exist_ok=True)
    path, duration_s = _drill_file(drill, reports_dir)
    run_id = run_id or f"pytest-{path.name.split('.')[0]}-{uuid.uuid4().hex[:6]}"
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
    limit_s = timeout_s or ((duration_s or 300.0) + CHILD_TIMEOUT_MARGIN_S)
    log_path = reports_dir / f"{run_id}.log"
    exit_code = _run_child(command, log_path, limit_s, env)
    run_dir = reports_dir / run_id
    report_path = run_dir / "report.json"
    if not report_path.is_file():
        raise DrillRunError(
            f"harness run {path} exited {exit_code} without writing a report "
            f"(2: invalid input, 3: infrastructure error); output ({log_path}):\n{_tail(log_path)}"
        )
    from harness.results.model import RunReport

    report = RunReport.model_validate_json(report_path.read_text(encoding="utf-8"))
    return DrillOutcome(report=report, run_dir=run_dir, exit_code=exit_code, log_path=log_path)


def _drill_file(drill: Any, reports_dir: Path) -> tuple[Path, float | None]:
    """A path ``harness run`` can read: the file itself, or a Drill object written as JSON."""
    if isinstance(drill, (str, Path)):
        return Path(drill), None
    from harness.drill.model import Drill

    if not isinstance(drill, Drill):
        raise TypeError(f"run_drill takes a drill file path or a Drill, not {type(drill).__name__}")
    from harness.drill.plan import anchored

    # Written to another folder: relative references keep meaning what they meant here.
    drill = anchored(drill, Path.cwd())
    path = reports_dir / f"{drill.name}-{uuid.uuid4().hex[:6]}.drill.json"
    path.write_text(json.dumps(drill.model_dump(mode="json", by_alias=True)), encoding="utf-8")
    return path, drill.duration_s


def _run_child(
    command: list[str], log_path: Path, limit_s: float, env: Mapping[str, str] | None = None
) -> int:
    """Run ``command`` in its own process group, output to ``log_path``; always leave nothing behind."""
    with log_path.open("w", encoding="utf-8") as log:
        proc = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, **env} if env else None,
        )
        try:
            return proc.wait(timeout=limit_s)
        except subprocess.TimeoutExpired:
            _stop_child(proc)
            raise DrillRunError(
                f"harness run did not finish within {limit_s:g} s and was stopped; "
                f"output ({log_path}):\n{_tail(log_path)}"
            ) from None
        except BaseException:
            _stop_child(proc)  # Ctrl-C, pytest-timeout: the drill reverts its faults on SIGTERM
            raise
        finally:
            _kill_group(proc.pid)  # helpers the child left behind (Locust workers, a Toxiproxy)


def _stop_child(proc: subprocess.Popen[Any]) -> None:
    """SIGTERM (the drill stops politely and reverts faults), SIGKILL after the grace period."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            _kill_group(proc.pid)
    proc.wait(timeout=10)


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _tail(path: Path) -> str:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return "(no output)"
    return "\n".join(lines[-LOG_TAIL_LINES:]) or "(no output)"


# -- options, marker, session state ----------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "resilience drills (cs-harness)")
    group.addoption(
        "--harness-reference",
        action="store_true",
        help="start the reference system behind an embedded Toxiproxy for the session and run "
        "drills against it",
    )
    group.addoption(
        "--harness-target-url",
        default=None,
        help="run drills against this running system (overrides target.url)",
    )
    group.addoption(
        "--harness-toxiproxy-url",
        default=None,
        help="inject faults through this Toxiproxy (overrides toxiproxy.url)",
    )
    group.addoption(
        "--harness-reports-dir",
        default=None,
        help="where drill runs write their run directories (default: a pytest temp dir)",
    )
    parser.addini(
        "harness_drills",
        type="paths",
        default=[],
        help="folders whose *.yaml drill files are collected as tests",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "harness: runs a resilience drill in a child process (deselect: -m 'not harness')",
    )
    reference = config.getoption("--harness-reference", default=False)
    if reference and config.getoption("--harness-target-url", default=None):
        raise pytest.UsageError(
            "--harness-reference starts its own target; drop it or --harness-target-url"
        )
    config.stash[_STATE_KEY] = _Session(config)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "run_drill" in getattr(item, "fixturenames", ()):
            item.add_marker("harness")


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    outcomes = config.stash[_STATE_KEY].outcomes if _STATE_KEY in config.stash else []
    if not outcomes:
        return
    terminalreporter.section("harness drills")
    for outcome in outcomes:
        checks = outcome.report.checks
        passed = sum(c.passed for c in checks)
        terminalreporter.write_line(
            f"{outcome.report.verdict.value.upper():<12} {outcome.report.drill}: "
            f"{passed}/{len(checks)} checks passed  report: {outcome.report_html}"
        )


class _Session:
    """Per pytest session: the reports folder, the shared reference system, drills run so far."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.outcomes: list[DrillOutcome] = []
        self._reports_dir: Path | None = None
        self._reference: ReferenceEnvironment | None = None
        self._stack = ExitStack()
        config.add_cleanup(self._stack.close)  # runs at unconfigure: after failures and Ctrl-C too

    @property
    def reports_dir(self) -> Path:
        if self._reports_dir is None:
            configured = self.config.getoption("--harness-reports-dir")
            if configured:
                self._reports_dir = Path(configured).resolve()
                self._reports_dir.mkdir(parents=True, exist_ok=True)
            else:
                factory = self.config._tmp_path_factory  # type: ignore[attr-defined]  # noqa: SLF001
                self._reports_dir = factory.mktemp("harness-reports")
        return self._reports_dir

    def reference(self) -> ReferenceEnvironment:
        """The reference system behind an embedded Toxiproxy: started once, stopped at session end."""
        if self._reference is None:
            from harness.demo import reference_environment

            state_dir = self.reports_dir / f"reference-{uuid.uuid4().hex[:6]}"
            self._reference = self._stack.enter_context(reference_environment(state_dir))
        return self._reference

    def endpoints(self) -> tuple[str | None, str | None]:
        """(target_url, toxiproxy_url) chosen on the command line, or (None, None)."""
        if self.config.getoption("--harness-reference"):
            env = self.reference()
            return env.target_url, env.toxiproxy_url
        return (
            self.config.getoption("--harness-target-url"),
            self.config.getoption("--harness-toxiproxy-url"),
        )

    def run(self, drill: Any, **kwargs: Any) -> DrillOutcome:
        outcome = run_drill_in_child(drill, reports_dir=self.reports_dir, **kwargs)
        self.outcomes.append(outcome)
        return outcome


_STATE_KEY = pytest.StashKey[_Session]()


def _session(config: pytest.Config) -> _Session:
    return config.stash[_STATE_KEY]


# -- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def harness_reports_dir(pytestconfig: pytest.Config) -> Path:
    """The folder drills run from tests write their run directories into."""
    return _session(pytestconfig).reports_dir


@pytest.fixture(scope="session")
def reference_environment(pytestconfig: pytest.Config) -> ReferenceEnvironment:
    """The reference system behind a fresh embedded Toxiproxy, shared by the session, always stopped."""
    return _session(pytestconfig).reference()


@pytest.fixture
def run_drill(pytestconfig: pytest.Config) -> Callable[..., DrillOutcome]:
    """``run_drill(drill, *, environment=None, target_url=None, toxiproxy_url=None, run_id=None,
    timeout_s=None) -> DrillOutcome``: run a drill file or Drill object in a child process.

    Where it sends traffic: explicit URLs, else ``environment`` (e.g. the
    ``reference_environment`` fixture), else the command-line options
    (``--harness-reference``, ``--harness-target-url``), else the drill's own.
    """
    state = _session(pytestconfig)

    def run(
        drill: Drill | str | Path,
        *,
        environment: ReferenceEnvironment | None = None,
        target_url: str | None = None,
        toxiproxy_url: str | None = None,
        run_id: str | None = None,
        timeout_s: float | None = None,
    ) -> DrillOutcome:
        if environment is not None:
            target_url = target_url or environment.target_url
            toxiproxy_url = toxiproxy_url or environment.toxiproxy_url
        if target_url is None and toxiproxy_url is None:
            target_url, toxiproxy_url = state.endpoints()
        return state.run(
            drill,
            target_url=target_url,
            toxiproxy_url=toxiproxy_url,
            run_id=run_id,
            timeout_s=timeout_s,
        )

    return run


# -- drill files as tests -----------------------------------------------------------------


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    if file_path.suffix not in (".yaml", ".yml"):
        return None
    if not _is_drill_path(parent.config, file_path):
        return None
    return DrillFile.from_parent(parent, path=file_path)


_PATHS_KEY = pytest.StashKey[tuple[frozenset[Path], tuple[Path, ...]]]()


def _is_drill_path(config: pytest.Config, file_path: Path) -> bool:
    """A *.yaml given by name on the command line, or one under a ``harness_drills`` folder."""
    if _PATHS_KEY not in config.stash:
        base = config.invocation_params.dir
        explicit = frozenset(
            (base / arg.split("::")[0]).resolve() for arg in config.args if not arg.startswith("-")
        )
        roots = tuple(Path(p).resolve() for p in config.getini("harness_drills"))
        config.stash[_PATHS_KEY] = (explicit, roots)
    explicit, roots = config.stash[_PATHS_KEY]
    resolved = file_path.resolve()
    return resolved in explicit or any(root in resolved.parents for root in roots)


class DrillFile(pytest.File):
    """A drill file: one test per SLA check and a verdict test; the drill runs once for all."""

    def collect(self) -> Iterator[pytest.Item]:
        from harness.drill.analysis import scoped_checks
        from harness.drill.loader import load_drill
        from harness.errors import InputError

        try:
            drill = load_drill(self.path)
        except InputError as exc:
            raise self.CollectError(f"{self.path}: not a valid drill file:\n{exc}") from None
        self.duration_s = drill.duration_s
        self._outcome: DrillOutcome | None = None
        self._error: DrillRunError | None = None
        specs = scoped_checks(drill)
        self.check_names = [spec.display_name for spec in specs]
        seen: dict[str, int] = {}
        for index, (name, spec) in enumerate(zip(self.check_names, specs, strict=True)):
            seen[name] = seen.get(name, 0) + 1
            item_name = name if seen[name] == 1 else f"{name} #{seen[name]}"
            # a capacity search's step checks are for reading: the step above the peak
            # fails them by design, and the verdict is judged on the peak
            informational = drill.capacity_search is not None and spec.phase is not None
            yield CheckItem.from_parent(
                self, name=item_name, index=index, informational=informational
            )
        yield VerdictItem.from_parent(self, name="verdict")

    def outcome(self) -> DrillOutcome:
        """Run the drill on first use; later items (and a failed run) reuse the result."""
        if self._outcome is None and self._error is None:
            state = _session(self.config)
            target_url, toxiproxy_url = state.endpoints()
            try:
                self._outcome = state.run(
                    self.path,
                    target_url=target_url,
                    toxiproxy_url=toxiproxy_url,
                    timeout_s=self.duration_s + CHILD_TIMEOUT_MARGIN_S,
                )
            except DrillRunError as exc:
                self._error = exc
        if self._error is not None:
            raise self._error
        assert self._outcome is not None
        return self._outcome


class _DrillItem(pytest.Item):
    parent: DrillFile

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_marker("harness")

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"drill {self.path.name}: {self.name}"

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, (DrillFailed, DrillRunError)):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)


class CheckItem(_DrillItem):
    """One SLA check of a drill, as a test: fails with measured value, threshold and report path."""

    def __init__(self, *, index: int, informational: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.index = index
        self.informational = informational

    def runtest(self) -> None:
        outcome = self.parent.outcome()
        checks = outcome.report.checks
        expected = self.parent.check_names[self.index]
        if self.index >= len(checks) or checks[self.index].name != expected:
            raise DrillFailed(
                f"check {expected!r} is not in the report of this drill "
                f"(was the file changed while it ran?); report: {outcome.report_html}"
            )
        check = checks[self.index]
        self.user_properties += [
            ("measured", check.measured),
            ("threshold", check.threshold),
            ("report", str(outcome.report_html)),
        ]
        if not check.passed and self.informational:
            pytest.xfail(f"capacity step beyond the sustainable peak: {describe_check(check)}")
        if not check.passed:
            raise DrillFailed(f"{describe_check(check)}\nreport: {outcome.report_html}")


class VerdictItem(_DrillItem):
    """The drill's verdict, as a test: fails when aborted or inconclusive, or on a failed check
    that has no test of its own (a capacity search's sustainable peak)."""

    def runtest(self) -> None:
        outcome = self.parent.outcome()
        report = outcome.report
        self.user_properties += [
            ("verdict", report.verdict.value),
            ("report", str(outcome.report_html)),
        ]
        if report.verdict.value in ("aborted", "inconclusive"):
            raise DrillFailed(
                f"drill {report.verdict.value}: {report.verdict_reason}\n"
                f"report: {outcome.report_html}"
            )
        extra = [c for c in report.checks[len(self.parent.check_names) :] if not c.passed]
        if extra:
            lines = "\n".join(describe_check(c) for c in extra)
            raise DrillFailed(f"{lines}\nreport: {outcome.report_html}")
