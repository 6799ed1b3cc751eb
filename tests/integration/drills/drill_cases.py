"""The shipped drills, which mechanism each guards, and which checks must fail without it.

Every drill in :data:`SHIPPED` must pass against the healthy reference system; every
row of :data:`CASES` must fail for the right reason when its mechanism is switched
off. A new drill is one entry here (and a file in drills/). Check names are the
``name:`` given to each check in the drill file; a capacity search's verdict is its
``sustainable peak >= N`` check. A drill that guards no single mechanism would be in
SHIPPED only (docs/drills.md says why); today every shipped drill guards one.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from helpdesk.config import Mechanism

DRILLS_DIR = Path(__file__).resolve().parents[3] / "drills"


@dataclass(frozen=True)
class DrillCase:
    """A drill, the mechanism it guards, the checks that must fail without it and those that must hold."""

    drill: str
    mechanism: Mechanism
    must_fail: tuple[str, ...]
    must_hold: tuple[str, ...] = field(default=())

    @property
    def path(self) -> Path:
        return DRILLS_DIR / f"{self.drill}.yaml"


CASES: tuple[DrillCase, ...] = (
    DrillCase(
        "nlu-outage",
        Mechanism.FALLBACK,
        must_fail=("chat answers from the keyword fallback", "chat stays available"),
        must_hold=("orders and tickets unaffected",),
    ),
    DrillCase(
        "nlu-slow",
        Mechanism.TIMEOUTS,
        must_fail=("chat answers from the keyword fallback", "chat first response within 3 s"),
        must_hold=("chat stays available", "orders and tickets unaffected"),
    ),
    DrillCase(
        "tickets-outage",
        Mechanism.OUTBOX,
        must_fail=("tickets still acknowledged",),
        must_hold=("orders and chat unaffected", "no acknowledged ticket lost"),
    ),
    DrillCase(
        "orders-primary-outage",
        Mechanism.FAILOVER,
        must_fail=("order lookups stay available", "failover within 2 s"),
        must_hold=("chat and tickets unaffected", "no acknowledged ticket lost"),
    ),
    DrillCase(  # a front that never returns to the primary: only the failback check sees it
        "orders-primary-outage",
        Mechanism.FAILBACK,
        must_fail=("back on the primary within 5 s",),
        must_hold=(
            "failover within 2 s",
            "order lookups stay available",
            "the replica served the lookups",
            "no acknowledged ticket lost",
        ),
    ),
    DrillCase(
        "flash-sale-surge",
        Mechanism.SHEDDING,
        must_fail=("recommendations shed with Retry-After", "core protected while extras are shed"),
    ),
    DrillCase(
        "kb-resets",
        Mechanism.FALLBACK,
        must_fail=("chat answers from the local FAQ", "chat stays available"),
        must_hold=("orders and tickets unaffected",),
    ),
    DrillCase(
        "orders-flapping",
        Mechanism.BREAKER,
        must_fail=("order lookups fail fast to the replica",),
        must_hold=("order lookups stay available", "first response within 3 s"),
    ),
    DrillCase(
        "kb-bandwidth",
        Mechanism.TIMEOUTS,
        must_fail=("chat answers from the local FAQ", "chat first response within 3 s"),
        must_hold=("chat stays available", "orders and tickets unaffected"),
    ),
    DrillCase(
        "capacity-search",
        Mechanism.SHEDDING,
        must_fail=("sustainable peak >= 280",),
    ),
    DrillCase(
        "nlu-frozen",
        Mechanism.TIMEOUTS,
        must_fail=("chat first response within 3 s",),
        must_hold=("orders and tickets unaffected",),
    ),
    DrillCase(
        "tickets-crash",
        Mechanism.OUTBOX,
        must_fail=("tickets still acknowledged",),
        must_hold=("orders and chat unaffected", "no acknowledged ticket lost"),
    ),
    DrillCase(
        "orders-primary-crash",
        Mechanism.FAILOVER,
        must_fail=("order lookups stay available", "failover within 2 s"),
        must_hold=("chat and tickets unaffected", "no acknowledged ticket lost"),
    ),
)

SHIPPED: tuple[str, ...] = tuple(dict.fromkeys(case.drill for case in CASES))
"""Crash drills (process faults) come last: they kill and restart processes of the system."""


def drill_env(events_path: Path) -> dict[str, str]:
    """What the crash drills' process faults need: the helpdesk's state dir, ``helpdesk`` on PATH."""
    bin_dir = str(Path(sys.executable).parent)
    return {
        "HELPDESK_STATE_DIR": str(events_path.parent),
        "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
    }


def drill_path(name: str) -> Path:
    """The drill file of a shipped drill."""
    return DRILLS_DIR / f"{name}.yaml"
