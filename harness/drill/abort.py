"""Abort conditions, watched live: e.g. 'error_ratio above 0.5 for 5 s' stops the drill.

Drill-wide conditions (``abort:``) are judged over the whole drill; a phase's own
(``phases[].abort``) only over the whole seconds inside that phase, so a drill can
abort on errors in its baseline while its expected outage runs to the end.
"""

from __future__ import annotations

import math

from harness.drill.live import LiveWindow
from harness.drill.model import AbortCondition, AbortMetric, Drill


class AbortWatch:
    """Judges each completed second of drill time against every abort condition.

    Resolution is one whole second: a second counts as bad when its ratio (or p95)
    is over the limit, so a fault that starts mid-second can abort up to one second
    sooner than ``for_s`` after it started (the integration test allows for this).
    """

    def __init__(
        self,
        conditions: list[AbortCondition],
        *,
        from_s: float = 0.0,
        until_s: float = math.inf,
        phase: str | None = None,
    ) -> None:
        """Judge the whole seconds inside ``[from_s, until_s)`` (a phase's window), or all."""
        self.conditions = conditions
        self.phase = phase
        self._streak_since: dict[int, int | None] = dict.fromkeys(range(len(conditions)))
        self._judged_until = math.ceil(from_s)  # seconds before this have been judged
        self._until_s = until_s

    def breached(self, live: LiveWindow, now_s: float) -> AbortCondition | None:
        """The first condition that has held for its whole ``for_s``, judged up to ``now_s``."""
        complete = math.floor(min(now_s, self._until_s))
        while self._judged_until < complete:
            second = self._judged_until
            self._judged_until += 1
            for index, condition in enumerate(self.conditions):
                if self._over(condition, live, second + 1):
                    if self._streak_since[index] is None:
                        self._streak_since[index] = second
                    if second + 1 - self._streak_since[index] >= condition.for_s:  # type: ignore[operator]
                        return condition
                else:
                    self._streak_since[index] = None
        return None

    @staticmethod
    def _over(condition: AbortCondition, live: LiveWindow, end_s: float) -> bool:
        if live.rps(end_s) < max(condition.min_requests_per_s, 1e-9):
            return False
        if condition.metric is AbortMetric.ERROR_RATIO:
            value = live.error_ratio(end_s)
        else:
            value = live.p95_ms(end_s)
        return value is not None and value > condition.above


def abort_watches_of(drill: Drill) -> list[AbortWatch]:
    """The drill's own abort conditions, then each phase's, judged within that phase only."""
    watches = [AbortWatch(drill.abort)]
    for phase, (name, start_s, end_s) in zip(drill.phases, drill.phase_windows(), strict=True):
        if phase.abort:
            watches.append(AbortWatch(phase.abort, from_s=start_s, until_s=end_s, phase=name))
    return watches
