"""Capacity search, judged while it runs: stop at the first load step whose checks fail.

Each step is judged once its last requests have been flushed to the raw files
(``settle_s`` after it ends), from those files, with the same checks the report
uses. Stopping there keeps the drill from pushing a broken system through every
higher step; the report's sustainable peak is the last step that held.
"""

from __future__ import annotations

from pathlib import Path

from harness.drill.analysis import phase_results
from harness.drill.model import Drill


class CapacityJudge:
    """Judges finished capacity steps in order; says which one broke first."""

    def __init__(self, drill: Drill, run_dir: Path, *, settle_s: float) -> None:
        self.drill = drill
        self.run_dir = run_dir
        self.settle_s = settle_s
        self._pending = list(drill.phase_windows())

    def broken_step(self, now_s: float) -> str | None:
        """The first finished step whose checks failed, judged up to ``now_s``; None if all held."""
        while self._pending and self._pending[0][2] + self.settle_s <= now_s:
            name, _start, _end = self._pending.pop(0)
            if not all(result.passed for result in phase_results(self.run_dir, self.drill, name)):
                return name
        return None
