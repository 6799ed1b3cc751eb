"""Lower CPU priority for test children that are heavy but judged on nothing timed.

scripts/test runs the suite in four pytest-xdist workers on two cores, so the CPU is
saturated for minutes. Drills judge latency and failover times against their SLAs;
the kill matrix and the bad-input tests start dozens of ``harness`` processes whose
verdicts do not depend on how fast they run. Those children get a higher nice value,
so when both want the CPU the drills' processes (the target, its Toxiproxy, the load)
get it first, and the heavy tests still use every idle moment.
"""

from __future__ import annotations

import os

BACKGROUND_NICE = 10  # CFS: ~1/10 of a nice-0 process's share when both are runnable


def lower_priority(pid: int) -> None:
    """Run process ``pid`` (and the children it starts from now on) at BACKGROUND_NICE."""
    try:
        os.setpriority(os.PRIO_PROCESS, pid, BACKGROUND_NICE)
    except ProcessLookupError:
        pass  # already gone: nothing to lower
