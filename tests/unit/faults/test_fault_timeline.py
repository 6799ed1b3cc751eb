"""expand(): fault scripts become absolute windows, offsets and flapping included."""

from __future__ import annotations

import pytest

from harness.errors import InputError
from harness.faults import Fault, FaultScript, FaultWindow, Flapping, expand


def script(*faults: Fault) -> FaultScript:
    return FaultScript(name="s", faults=list(faults))


def spans(windows: list[FaultWindow]) -> list[tuple[str, float, float]]:
    return [(w.fault.name, w.start_s, w.end_s) for w in windows]


def test_fault_without_window_fills_the_phase() -> None:
    """No start_s/duration_s means the whole phase."""
    s = script(Fault(name="a", proxy="p", type="down"))
    assert spans(expand(s, 10.0, 30.0)) == [("a", 10.0, 30.0)]


def test_offsets_are_relative_to_the_phase_start() -> None:
    """start_s and duration_s are measured from the phase start, clipped at its end."""
    s = script(
        Fault(name="slow", proxy="nlu", type="latency", latency_ms=5),
        Fault(name="down", proxy="orders", type="down", start_s=3, duration_s=4),
        Fault(name="long", proxy="kb", type="down", start_s=8, duration_s=100),
    )
    assert spans(expand(s, 10.0, 20.0)) == [
        ("slow", 10.0, 20.0), ("down", 13.0, 17.0), ("long", 18.0, 20.0),
    ]


def test_flapping_expands_into_on_windows() -> None:
    """A flapping fault becomes one window per 'on' interval, the last one clipped."""
    s = script(Fault(name="f", proxy="p", type="down", flapping=Flapping(on_s=2, off_s=1)))
    assert spans(expand(s, 0.0, 7.5)) == [("f", 0.0, 2.0), ("f", 3.0, 5.0), ("f", 6.0, 7.5)]


def test_flapping_within_a_bounded_window() -> None:
    """Flapping starts at start_s and stops at start_s + duration_s."""
    s = script(Fault(name="f", proxy="p", type="down", start_s=1, duration_s=5,
                     flapping=Flapping(on_s=1, off_s=1)))
    assert spans(expand(s, 100.0, 200.0)) == [
        ("f", 101.0, 102.0), ("f", 103.0, 104.0), ("f", 105.0, 106.0),
    ]


def test_windows_are_sorted_by_start() -> None:
    """Windows of several faults come back in start order."""
    s = script(
        Fault(name="b", proxy="p", type="down", start_s=5),
        Fault(name="a", proxy="q", type="down", start_s=1),
    )
    assert [w.fault.name for w in expand(s, 0.0, 10.0)] == ["a", "b"]


def test_fault_starting_after_the_phase_is_an_input_error() -> None:
    """A fault that would never run is refused, naming the fault and the phase length."""
    s = script(Fault(name="late", proxy="p", type="down", start_s=12))
    with pytest.raises(InputError, match=r"fault 'late': field 'start_s' is 12 s but the phase "
                                         r"lasts 10 s"):
        expand(s, 0.0, 10.0)


def test_empty_phase_is_an_input_error() -> None:
    """A phase that ends before it starts is refused."""
    with pytest.raises(InputError, match="is empty"):
        expand(script(Fault(name="a", proxy="p", type="down")), 5.0, 5.0)


def test_windows_are_hashable_values() -> None:
    """Equal windows compare and hash equal (the runner may keep them in sets)."""
    s = script(Fault(name="a", proxy="p", type="down"))
    assert set(expand(s, 0, 1)) == set(expand(s, 0, 1))
