"""Tests for harness.load.shapes: a contract over the registry, plus values per shape."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from harness.load.shapes import SHAPES, Daily, Ramp, Step, Surge

EXAMPLES = {
    "steady": {"level": 10},
    "ramp": {"start": 0, "end": 20, "over_s": 10},
    "surge": {"base": 10, "factor": 5, "at_s": 5, "rise_s": 2, "hold_s": 3, "decay_s": 4},
    "daily": {"low": 2, "high": 20, "period_s": 60},
    "step": {"start": 5, "step": 5, "step_s": 10, "max": 25},
}
EXAMPLES.update({name: dict(SHAPES[name].example) for name in SHAPES.plugin_names()})
TIMES = [0.0, 0.001, 0.5, 1, 2.5, 5, 7, 9.99, 10, 30, 59.9, 60, 3600, 1e6]


def test_every_registered_shape_has_an_example() -> None:
    """A new built-in shape must be added to the examples here; plugins bring their own."""
    assert set(SHAPES.builtin()) | set(SHAPES.plugin_names()) == set(EXAMPLES)
    assert all(SHAPES[name].example for name in SHAPES.plugin_names())


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_shape_contract(name: str) -> None:
    """Every shape: finite level >= 0 at all times, a describe() naming it, type from the registry."""
    shape = SHAPES[name].model_validate({"type": name, **EXAMPLES[name]})
    for t in TIMES:
        level = shape.level(t)
        assert math.isfinite(level) and level >= 0, (name, t, level)
    text = shape.describe()
    assert text.startswith(f"{name}(") and text.endswith(")")


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_shape_rejects_unknown_fields(name: str) -> None:
    """A typo in a drill's shape is an error, not silently ignored."""
    with pytest.raises(ValidationError):
        SHAPES[name].model_validate({"type": name, **EXAMPLES[name], "levle": 1})


def test_surge_values() -> None:
    """Surge: base, linear rise to factor x base, hold, exponential decay back to base."""
    s = Surge(type="surge", **EXAMPLES["surge"])
    assert s.level(0) == 10 and s.level(4.99) == 10
    assert s.level(6) == pytest.approx(30)  # halfway up the 2 s rise to 50
    assert s.level(7) == 50 and s.level(9.99) == 50
    assert s.level(14) == pytest.approx(10 + 40 * math.exp(-1))
    assert s.level(1000) == pytest.approx(10)


def test_step_values() -> None:
    """Step: start, raised every step_s, capped at max; negative time is the start."""
    s = Step(type="step", **EXAMPLES["step"])
    assert [s.level(t) for t in (-1, 0, 9.99, 10, 25, 40, 1000)] == [5, 5, 5, 10, 15, 25, 25]


def test_ramp_values() -> None:
    """Ramp: linear from start to end over over_s, then end; clamped before 0."""
    r = Ramp(type="ramp", **EXAMPLES["ramp"])
    assert [r.level(t) for t in (-5, 0, 5, 10, 100)] == [0, 0, 10, 20, 20]


def test_daily_values() -> None:
    """Daily: low at 0 and at each period, high at half a period, mid-way at a quarter."""
    d = Daily(type="daily", **EXAMPLES["daily"])
    assert d.level(0) == pytest.approx(2)
    assert d.level(15) == pytest.approx(11)
    assert d.level(30) == pytest.approx(20)
    assert d.level(60) == pytest.approx(2)
