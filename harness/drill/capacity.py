"""Capacity search, judged while it runs: stop at the first load step whose checks fail.

The judge keeps its own in-memory :class:`MetricStore`, fed with the same rows
the recorder (or the Locust workers) write to the raw files, and judges each
step ``settle_s`` after it ends (once its late requests are in) with the same
checks the report uses. Judging is cheap (a few checks over one step's buckets)
and reads no files, so it does not stall the load loop. Stopping there keeps
the drill from pushing a broken system through every higher step; the report's
sustainable peak is the last step that held.
"""

from __future__ import annotations

from collections.abc import Callable

from harness.checks import CheckContext
from harness.drill.model import Drill
from harness.metrics.store import MetricStore
from harness.results.raw import MetricRow

RowSink = Callable[[list[MetricRow]], None]


class CapacityJudge:
    """Judges finished capacity steps in order; says which one broke first."""

    def __init__(self, drill: Drill, *, settle_s: float) -> None:
        self.drill = drill
        self.settle_s = settle_s
        self.store = MetricStore(drill.bucket_s)
        self._pending = list(drill.phase_windows())
        self._context = CheckContext(
            store=self.store,
            bucket_s=drill.bucket_s,
            phases=list(drill.phase_windows()),
            baseline_phase=drill.baseline,
        )

    def tee(self, sink: RowSink) -> RowSink:
        """A row sink that feeds ``sink`` and this judge's store."""

        def both(rows: list[MetricRow]) -> None:
            sink(rows)
            for row in rows:
                self.store.add_row(row)

        return both

    def broken_step(self, now_s: float) -> str | None:
        """The first finished step whose checks failed, judged up to ``now_s``; None if all held."""
        while self._pending and self._pending[0][2] + self.settle_s <= now_s:
            name, _start, _end = self._pending.pop(0)
            phase = next(p for p in self.drill.phases if p.name == name)
            specs = [spec.model_copy(update={"phase": name}) for spec in phase.checks]
            if not all(spec.evaluate(self._context).passed for spec in specs):
                return name
        return None
