"""Turn a fault script into absolute windows on the drill's clock.

Times are seconds from the drill start. A fault runs from ``phase_start_s +
start_s`` for ``duration_s`` (or to the phase end), clipped to the phase; a
flapping fault becomes one window per "on" interval inside that span.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from harness.errors import InputError
from harness.faults.model import Fault, FaultScript
from harness.limits import MAX_FAULT_WINDOWS, over

__all__ = ["FaultWindow", "expand"]


@dataclass(frozen=True)
class FaultWindow:
    """One interval during which ``fault`` is active, in seconds from the drill start."""

    fault: Fault
    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        """Length of the window."""
        return self.end_s - self.start_s


def expand(script: FaultScript, phase_start_s: float, phase_end_s: float) -> list[FaultWindow]:
    """All windows of ``script`` run in the phase ``[phase_start_s, phase_end_s)``, by start.

    Raises InputError (naming script and fault) when a fault would start at or
    after the phase end, or would flap into more than :data:`MAX_FAULT_WINDOWS`
    windows, so a drill is rejected before anything is touched.
    """
    if phase_end_s <= phase_start_s:
        raise InputError(
            f"{script.source}: phase from {phase_start_s:g} s to {phase_end_s:g} s is empty "
            "- give the phase a positive duration"
        )
    windows: list[FaultWindow] = []
    for fault in script.faults:
        start = float(phase_start_s + fault.start_s)
        if start >= phase_end_s:
            raise InputError(
                f"{script.where(fault.name)}: fault '{fault.name}': field 'start_s' is {fault.start_s:g} s "
                f"but the phase lasts {phase_end_s - phase_start_s:g} s - lower start_s or "
                "lengthen the phase"
            )
        end = float(min(phase_end_s, phase_start_s + fault.end_s))
        windows.extend(_flaps(script, fault, start, end))
    return sorted(windows, key=lambda w: (w.start_s, w.fault.name))


def _flaps(script: FaultScript, fault: Fault, start_s: float, end_s: float) -> list[FaultWindow]:
    if fault.flapping is None:
        return [FaultWindow(fault, start_s, end_s)]
    on_s, period_s = fault.flapping.on_s, fault.flapping.on_s + fault.flapping.off_s
    count = math.ceil((end_s - start_s) / period_s)
    if count > MAX_FAULT_WINDOWS:
        raise InputError(
            f"{script.where(fault.name)}: fault '{fault.name}': flapping on {on_s:g} s / off "
            f"{fault.flapping.off_s:g} s over {end_s - start_s:g} s makes {count} windows, "
            f"{over('MAX_FAULT_WINDOWS', MAX_FAULT_WINDOWS)} - flap more slowly or shorten "
            "the fault"
        )
    out, i = [], 0
    while (t := start_s + i * period_s) < end_s:
        out.append(FaultWindow(fault, t, min(end_s, t + on_s)))
        i += 1
    return out
