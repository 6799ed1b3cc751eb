"""The run's journal: every timeline event of a drill, worded and timed in one place.

The runner, the watchers and the fault injector say *what* happened; the
journal turns that into a :class:`TimelineEvent` on the drill clock and hands
it to the run files (``raw/journal.jsonl``), from which every report rebuilds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from harness.clock import DrillClock
from harness.drill.plan import PlannedFault
from harness.faults.injector import FaultEvent, FaultEventKind
from harness.results.model import EventKind, TimelineEvent

EventSink = Callable[[TimelineEvent], None]

_FAULT_KINDS = {
    FaultEventKind.APPLIED: EventKind.FAULT_APPLIED,
    FaultEventKind.REVERTED: EventKind.FAULT_REVERTED,
    FaultEventKind.REVERT_FAILED: EventKind.FAULT_REVERT_FAILED,
    FaultEventKind.APPLY_UNDONE: EventKind.NOTE,
}
_FAULT_VERBS = {
    FaultEventKind.APPLIED: "applied",
    FaultEventKind.REVERTED: "removed",
    FaultEventKind.REVERT_FAILED: "could not be removed",
    FaultEventKind.APPLY_UNDONE: "undone after its apply failed",
}


class Journal:
    """Formats and writes the drill's timeline events, timed on ``clock``."""

    def __init__(self, sink: EventSink, clock: DrillClock, faults: Sequence[PlannedFault]) -> None:
        self._sink = sink
        self._clock = clock
        self._faults = list(faults)

    def event(
        self, kind: EventKind, message: str, *, t_s: float | None = None, **data: Any
    ) -> None:
        """One event, now (or at ``t_s`` of drill time)."""
        when = self._clock.now_s() if t_s is None else t_s
        self._sink(TimelineEvent(t_s=round(when, 3), kind=kind, message=message, data=data))

    def run_started(self, drill_name: str, target_url: str) -> None:
        self.event(EventKind.RUN_STARTED, f"drill {drill_name} started against {target_url}")

    def phase_started(self, phase: str) -> None:
        self.event(EventKind.PHASE_STARTED, f"phase {phase} started", phase=phase)

    def phase_ended(self, phase: str) -> None:
        self.event(EventKind.PHASE_ENDED, f"phase {phase} ended", phase=phase)

    def aborted(self, message: str) -> None:
        self.event(EventKind.ABORTED, message)

    def infrastructure_error(self, message: str) -> None:
        self.event(EventKind.INFRASTRUCTURE_ERROR, message)

    def note(self, message: str, **data: Any) -> None:
        self.event(EventKind.NOTE, message, **data)

    def run_ended(self, **data: Any) -> None:
        self.event(EventKind.RUN_ENDED, "drill ended", **data)

    def server_state(self, series: str, before: float, after: float) -> None:
        """A state-like series of the target's /metrics changed value."""
        self.event(
            EventKind.SERVER_STATE,
            f"{series} changed {before:g} -> {after:g}",
            series=series,
            before=before,
            after=after,
        )

    def fault(self, event: FaultEvent) -> None:
        """The injector's ``on_event``: the change, at the time the injector took."""
        if event.window is None:
            return
        planned = next(
            (p for p in self._faults if p.window == event.window),
            PlannedFault("", event.window),  # not planned (cannot happen): journal it anyway
        )
        fault = planned.window.fault
        extra: dict[str, Any] = {}
        if event.kind is FaultEventKind.REVERT_FAILED:
            extra = {"error": event.detail}
        elif event.detail:  # a local fault's signal, command exit code and output
            extra = {"detail": event.detail}
        if fault.is_local:
            extra["target"] = fault.target
        self.event(
            _FAULT_KINDS[event.kind],
            f"fault {fault.name} ({fault.type} on {fault.target}) {_FAULT_VERBS[event.kind]}",
            t_s=event.t_s,
            fault=fault.name,
            script=planned.script,
            proxy=fault.proxy or "",
            type=str(fault.type),
            planned_start_s=planned.window.start_s,
            planned_end_s=planned.window.end_s,
            **extra,
        )
