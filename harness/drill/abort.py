"""Abort conditions, watched live: e.g. 'error_ratio above 0.5 for 5 s' stops the drill."""

from __future__ import annotations

import math

from harness.drill.live import LiveWindow
from harness.drill.model import AbortCondition, AbortMetric


class AbortWatch:
    """Judges each completed second of drill time against every abort condition.

    Resolution is one whole second: a second counts as bad when its ratio (or p95)
    is over the limit, so a fault that starts mid-second can abort up to one second
    sooner than ``for_s`` after it started (the integration test allows for this).
    """

    def __init__(self, conditions: list[AbortCondition]) -> None:
        self.conditions = conditions
        self._streak_since: dict[int, int | None] = dict.fromkeys(range(len(conditions)))
        self._judged_until = 0  # seconds [0, _judged_until) have been judged

    def breached(self, live: LiveWindow, now_s: float) -> AbortCondition | None:
        """The first condition that has held for its whole ``for_s``, judged up to ``now_s``."""
        complete = math.floor(now_s)
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
