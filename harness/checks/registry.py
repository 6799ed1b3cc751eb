"""The check registry: ``type`` -> config class, and ``CheckSpec``, the union the loader parses."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any, Union, get_args

from pydantic import Field, TypeAdapter, ValidationError

from harness.checks.base import CheckBase, CheckContext
from harness.checks.protection import CoreProtectedCheck
from harness.checks.resilience import FailoverTimeCheck, LostWritesCheck, RecoveryTimeCheck
from harness.checks.traffic import (
    AvailabilityCheck,
    ErrorRateCheck,
    FallbackRatioCheck,
    LatencyCheck,
    ShedRatioCheck,
    ThroughputCheck,
)
from harness.errors import ValidationFailed
from harness.results.model import CheckResult

REGISTRY: dict[str, type[CheckBase]] = {}


def register(cls: type[CheckBase]) -> type[CheckBase]:
    """Add a check class; the message names the class and what is wrong with it."""
    field = cls.model_fields.get("type")
    literal = get_args(field.annotation) if field else ()
    if len(literal) != 1 or not isinstance(literal[0], str):
        raise TypeError(f"check {cls.__name__}: needs a field `type: Literal['<name>']`")
    if cls.evaluate is CheckBase.evaluate:
        raise TypeError(f"check {cls.__name__}: does not implement evaluate(ctx)")
    if not cls.unit and cls is not CoreProtectedCheck:
        raise TypeError(f"check {cls.__name__}: needs a ClassVar `unit`")
    name = literal[0]
    if name in REGISTRY and REGISTRY[name] is not cls:
        raise TypeError(
            f"check {cls.__name__}: type '{name}' is taken by {REGISTRY[name].__name__}"
        )
    REGISTRY[name] = cls
    return cls


for _cls in (
    LatencyCheck,
    ErrorRateCheck,
    AvailabilityCheck,
    ThroughputCheck,
    FallbackRatioCheck,
    ShedRatioCheck,
    CoreProtectedCheck,
    FailoverTimeCheck,
    RecoveryTimeCheck,
    LostWritesCheck,
):
    register(_cls)

CheckSpec = Annotated[Union[tuple(REGISTRY.values())], Field(discriminator="type")]  # noqa: UP007
_LIST = TypeAdapter(list[CheckSpec])


def parse_checks(data: Iterable[dict[str, Any]], source: str = "checks") -> list[CheckBase]:
    """Validate a ``checks:`` list; ValidationFailed lists every problem with its position."""
    try:
        return _LIST.validate_python(list(data))
    except ValidationError as exc:
        problems = [f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()]
        raise ValidationFailed(source, problems) from exc


def evaluate_all(checks: Iterable[CheckBase], ctx: CheckContext) -> list[CheckResult]:
    """Evaluate every check (never stopping at a failure), in order."""
    return [check.evaluate(ctx) for check in checks]
