"""Load shapes: the load level as a function of time since the drill started.

A shape is data: ``level(t_s)`` returns how many users run (closed model) or how
many arrivals a second are sent (open model) at ``t_s``. The engine reads it a few
times a second. New shapes are one class in :data:`SHAPES`; the contract tests run
over that registry.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Shape(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def level(self, t_s: float) -> float:  # pragma: no cover - every shape overrides it
        raise NotImplementedError

    def describe(self) -> str:
        fields = ", ".join(
            f"{k}={v}" for k, v in self.model_dump(exclude={"type"}, by_alias=True).items()
        )
        return f"{self.type}({fields})"  # type: ignore[attr-defined]


class Steady(_Shape):
    """The same level all along."""

    type: Literal["steady"]
    level_: float = Field(alias="level", gt=0)

    def level(self, t_s: float) -> float:
        return self.level_


class Ramp(_Shape):
    """From ``start`` to ``end`` linearly over ``over_s``, then ``end``."""

    type: Literal["ramp"]
    start: float = Field(ge=0)
    end: float = Field(gt=0)
    over_s: float = Field(gt=0)

    def level(self, t_s: float) -> float:
        fraction = min(max(t_s / self.over_s, 0.0), 1.0)
        return self.start + (self.end - self.start) * fraction


class Surge(_Shape):
    """A flash-sale surge: ``base`` level, then ``factor`` x base within ``rise_s`` at ``at_s``,
    held for ``hold_s``, decaying back to base exponentially with time constant ``decay_s``."""

    type: Literal["surge"]
    base: float = Field(gt=0)
    factor: float = Field(gt=1)
    at_s: float = Field(ge=0)
    rise_s: float = Field(gt=0)
    hold_s: float = Field(ge=0)
    decay_s: float = Field(gt=0)

    def level(self, t_s: float) -> float:
        peak = self.base * self.factor
        if t_s < self.at_s:
            return self.base
        if t_s < self.at_s + self.rise_s:
            return self.base + (peak - self.base) * (t_s - self.at_s) / self.rise_s
        held_until = self.at_s + self.rise_s + self.hold_s
        if t_s < held_until:
            return peak
        return self.base + (peak - self.base) * math.exp(-(t_s - held_until) / self.decay_s)


class Daily(_Shape):
    """A compressed daily curve: a sine between ``low`` and ``high`` over ``period_s``,
    starting at the night-time low."""

    type: Literal["daily"]
    low: float = Field(ge=0)
    high: float = Field(gt=0)
    period_s: float = Field(gt=0)

    def level(self, t_s: float) -> float:
        phase = 2 * math.pi * t_s / self.period_s
        return self.low + (self.high - self.low) * (1 - math.cos(phase)) / 2


class Step(_Shape):
    """``start``, raised by ``step`` every ``step_s``, never above ``max`` (capacity search)."""

    type: Literal["step"]
    start: float = Field(gt=0)
    step: float = Field(gt=0)
    step_s: float = Field(gt=0)
    max: float = Field(gt=0)

    def level(self, t_s: float) -> float:
        return min(self.start + self.step * math.floor(max(t_s, 0.0) / self.step_s), self.max)


ShapeSpec = Annotated[Steady | Ramp | Surge | Daily | Step, Field(discriminator="type")]
SHAPES: dict[str, type[_Shape]] = {
    cls.model_fields["type"].annotation.__args__[0]: cls  # type: ignore[union-attr]
    for cls in (Steady, Ramp, Surge, Daily, Step)
}
