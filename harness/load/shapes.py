"""Load shapes: the load level as a function of time since the drill started.

A shape is data: ``level(t_s)`` returns how many users run (closed model) or how
many arrivals a second are sent (open model) at ``t_s``. The engine reads it a few
times a second. New shapes are one :class:`Shape` subclass in :data:`SHAPES`; the
contract tests run over that registry. Plugins add shapes through the
``cs_harness.shapes`` entry-point group (``harness.plugins``); the drill model's
``shape:`` union is built by :func:`shape_spec` when ``harness.drill.model`` is
imported, which loads them.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, ClassVar, Literal, Union, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.plugins import Registry


class Shape(BaseModel):
    """A load shape: a ``type`` literal, its fields, and ``level(t_s)``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    example: ClassVar[dict[str, Any]] = {}  # plugins: a minimal valid config, without 'type'

    def level(self, t_s: float) -> float:  # pragma: no cover - every shape overrides it
        raise NotImplementedError

    def describe(self) -> str:
        fields = ", ".join(
            f"{k}={v}" for k, v in self.model_dump(exclude={"type"}, by_alias=True).items()
        )
        return f"{self.type}({fields})"  # type: ignore[attr-defined]


_Shape = Shape  # the name the built-ins grew up with


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


def _validate(cls: Any, plugin: bool) -> str:
    """The shape's ``type``; TypeError naming the class and what is wrong with it."""
    if not (isinstance(cls, type) and issubclass(cls, Shape)):
        raise TypeError(f"{cls!r} is not a subclass of harness.load.shapes.Shape")
    field = cls.model_fields.get("type")
    literal = get_args(field.annotation) if field else ()
    if len(literal) != 1 or not isinstance(literal[0], str):
        raise TypeError(f"shape {cls.__name__}: needs a field `type: Literal['<name>']`")
    if cls.level is Shape.level:
        raise TypeError(f"shape {cls.__name__}: does not implement level(t_s)")
    if plugin:
        _valid_example(cls, literal[0])
    return literal[0]


def _valid_example(cls: type[Shape], name: str) -> None:
    if not cls.example:
        raise TypeError(
            f"shape {cls.__name__}: needs a ClassVar `example` (the fields of a minimal "
            "valid config, without 'type') for the contract tests"
        )
    try:
        cls.model_validate({"type": name, **cls.example})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "example"
        raise TypeError(
            f"shape {cls.__name__}: its `example` does not validate ({where}: {first['msg']})"
        ) from None


SHAPES: Registry[type[Shape]] = Registry("load shapes", _validate)
for _cls in (Steady, Ramp, Surge, Daily, Step):
    SHAPES.add(_cls)


def shape_spec() -> Any:
    """The union of every registered shape, plugins included (loads them), by ``type``."""
    return Annotated[Union[tuple(SHAPES.values())], Field(discriminator="type")]  # noqa: UP007


ShapeSpec = Annotated[Steady | Ramp | Surge | Daily | Step, Field(discriminator="type")]
"""The built-in shapes only; the drill model uses :func:`shape_spec`."""
