"""CPU priority in a suite that runs on more workers than cores.

scripts/test runs the suite in pytest-xdist workers on two cores, so the CPU is
saturated for minutes. The shipped drills judge latency and failover times against
their SLAs: a target starved of CPU measures slow and fails for a reason that is not
its own. Two rules keep the drills fed:

* the drill runs come first: when the shipped drills start, every other worker of the
  run (and what it has started) drops to YIELD_NICE (:func:`yield_to_me`), a mild
  step, since those workers run timed tests of their own;
* heavy children judged on nothing timed (the kill matrix's and the bad-input tests'
  ``harness`` processes) start at BACKGROUND_NICE anyway (:func:`lower_priority`).

Niceness only orders who runs first when both want the CPU; idle cycles still go to
everyone, so nothing is slower than it has to be.
"""

from __future__ import annotations

import os

import psutil

BACKGROUND_NICE = 10  # CFS: ~1/10 of a nice-0 process's share when both are runnable
YIELD_NICE = 4  # ~2/5 of a nice-0 process's share


def lower_priority(pid: int) -> None:
    """Run process ``pid`` (and the children it starts from now on) at BACKGROUND_NICE."""
    try:
        os.setpriority(os.PRIO_PROCESS, pid, BACKGROUND_NICE)
    except ProcessLookupError:
        pass  # already gone: nothing to lower


def yield_to_me() -> int:
    """Lower every other pytest-xdist worker of this run, and everything it started, to
    YIELD_NICE (or leave it lower); their later children inherit it. Returns how many
    processes were lowered (0 outside pytest-xdist: nothing else of the run competes).

    For the rest of the run: a process may raise its nice value but not lower it back,
    and once the drills are done the order between the workers no longer matters."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return 0
    me = psutil.Process()
    controller = me.parent()
    if controller is None:
        return 0
    lowered = 0
    for worker in controller.children():
        if worker.pid == me.pid:
            continue
        try:
            family = [worker, *worker.children(recursive=True)]
        except psutil.Error:
            continue
        for proc in family:
            try:
                if proc.nice() < YIELD_NICE:
                    proc.nice(YIELD_NICE)
                    lowered += 1
            except psutil.Error:
                pass  # gone, or not ours to change
    return lowered
