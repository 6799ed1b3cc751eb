"""Every shipped drill run once on a healthy system and once without its mechanism.

``test_drills_pass.py`` judges the healthy runs, ``test_drills_fail.py`` the broken
ones; both read the session fixture ``drill_runs`` (conftest.py), which starts the systems the
selected tests need, runs their drills, stops every process (also when anything
fails) and only then hands the outcomes to the tests. Both modules are one pytest-xdist
group (tests/conftest.py: XDIST_GROUPS), so the fixture runs once per suite.

The drills are mostly waiting (a drill is ~15 s of wall time and ~3.5 s of CPU on this
machine), so the systems run :data:`SYSTEMS_AT_ONCE` at a time, each with its own
processes, ports (all 0) and embedded Toxiproxy: they never touch each other. On one
system its drills run one after another, in :data:`drill_cases.SHIPPED` order, so the
crash drills (which kill and restart processes of the system) come last.

* healthy: :data:`HEALTHY_SYSTEMS` systems with every mechanism on share the shipped drills;
* broken: one system per mechanism, with exactly that mechanism disabled, runs the
  drills of every case that guards it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from drill_cases import DrillCase, drill_env, drill_path

from harness.demo import reference_environment
from harness.pytest_plugin import DrillOutcome, run_drill_in_child
from helpdesk.config import Mechanism

SYSTEMS_AT_ONCE = 3  # four at once starved each other's recovery checks on 2 cores
HEALTHY_SYSTEMS = 3
DRILL_TIMEOUT_S = 120  # one drill in its child; the longest shipped drill takes ~20 s


class Health(Enum):
    """Which system a drill ran on."""

    HEALTHY = "healthy"
    BROKEN = "broken"  # without the mechanism its case guards


@dataclass(frozen=True)
class SystemJob:
    """One system (every mechanism on, or one disabled) and the drills to run on it in order."""

    name: str
    disabled: frozenset[Mechanism]
    drills: tuple[str, ...]

    @property
    def health(self) -> Health:
        return Health.BROKEN if self.disabled else Health.HEALTHY


# (system, drill, the mechanism its system lacks: None on a healthy one) -> outcome
Outcomes = dict[tuple[Health, str, Mechanism | None], DrillOutcome | BaseException]


def plan_jobs(healthy: Iterable[str], broken: Iterable[DrillCase]) -> list[SystemJob]:
    """The systems for the selected drills; the jobs with the most drills first."""
    healthy = list(healthy)
    jobs = [
        SystemJob(f"healthy-{i + 1}", frozenset(), tuple(healthy[i::HEALTHY_SYSTEMS]))
        for i in range(min(HEALTHY_SYSTEMS, len(healthy)))
    ]
    by_mechanism: dict[Mechanism, list[str]] = {}
    for case in broken:
        by_mechanism.setdefault(case.mechanism, []).append(case.drill)
    jobs += [
        SystemJob(f"without-{m.value}", frozenset({m}), tuple(drills))
        for m, drills in by_mechanism.items()
    ]
    return sorted(jobs, key=lambda job: -len(job.drills))


def _run_job(job: SystemJob, root: Path, outcomes: Outcomes, stopping: threading.Event) -> None:
    """Start the job's system, run its drills one after another, stop everything."""
    folder = root / job.name
    lacks = next(iter(job.disabled), None)
    try:
        with reference_environment(folder / "sys", disabled=job.disabled) as env:
            for drill in job.drills:
                if stopping.is_set():
                    outcomes[(job.health, drill, lacks)] = RuntimeError(
                        "the drill runs were interrupted"
                    )
                    continue
                try:
                    outcomes[(job.health, drill, lacks)] = run_drill_in_child(
                        drill_path(drill),
                        reports_dir=folder / "reports",
                        target_url=env.target_url,
                        toxiproxy_url=env.toxiproxy_url,
                        timeout_s=DRILL_TIMEOUT_S,
                        env=drill_env(env.events_path),
                    )
                except Exception as exc:  # reported by the test of that drill
                    outcomes[(job.health, drill, lacks)] = exc
    except Exception as exc:  # the system did not start (or stop): every drill on it says so
        for drill in job.drills:
            outcomes.setdefault((job.health, drill, lacks), exc)


def run_jobs(jobs: list[SystemJob], root: Path) -> Outcomes:
    """Run every job, :data:`SYSTEMS_AT_ONCE` at a time; each system is stopped by its job."""
    outcomes: Outcomes = {}
    stopping = threading.Event()
    with ThreadPoolExecutor(max_workers=SYSTEMS_AT_ONCE) as pool:
        futures = [pool.submit(_run_job, job, root, outcomes, stopping) for job in jobs]
        try:
            for future in futures:
                future.result()
        except BaseException:
            # Ctrl-C or pytest-timeout: nothing new starts, the running drills finish
            # (each bounded by DRILL_TIMEOUT_S) and every job stops its own system
            stopping.set()
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    return outcomes


def outcome_of(
    outcomes: Outcomes, health: Health, drill: str, lacks: Mechanism | None = None
) -> DrillOutcome:
    """The drill's outcome on that system (``lacks``: the mechanism a broken one is without);
    raises what stopped it from having one."""
    outcome = outcomes[(health, drill, lacks)]
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome
