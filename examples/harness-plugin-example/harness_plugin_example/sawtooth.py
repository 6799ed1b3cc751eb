"""The ``sawtooth`` load shape: from ``low`` up to ``high`` over ``period_s``, then back down at once."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from harness.load.shapes import Shape


class Sawtooth(Shape):
    """``low`` rising linearly to ``high`` within each ``period_s``, repeated."""

    type: Literal["sawtooth"]
    low: float = Field(ge=0)
    high: float = Field(gt=0)
    period_s: float = Field(gt=0)

    example: ClassVar[dict] = {"low": 1, "high": 10, "period_s": 20}

    def level(self, t_s: float) -> float:
        fraction = (max(t_s, 0.0) % self.period_s) / self.period_s
        return self.low + (self.high - self.low) * fraction
