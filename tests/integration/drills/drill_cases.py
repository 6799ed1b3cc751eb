"""Which shipped drill guards which mechanism, and which of its checks must fail without it.

One row per drill in drills/: the test modules of this folder read this table, so a
new drill is one row here (and a file in drills/). Check names are the ``name:``
given to each check in the drill file.
"""

from __future__ import annotations

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
        "orders-flapping",
        Mechanism.BREAKER,
        must_fail=("order lookups fail fast to the replica",),
        must_hold=("order lookups stay available", "first response within 3 s"),
    ),
)
