"""The check registry: ``type`` -> config class, and the ``checks:`` union built from it.

Plugins add check classes through the ``cs_harness.checks`` entry-point group
(``harness.plugins``); they are read the first time the registry is read. The
drill model's ``checks:`` fields are a pydantic discriminated union built by
:func:`check_spec` when ``harness.drill.model`` is imported, so that import is
what loads check plugins (docs/plugins.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Annotated, Any, Union, get_args

from pydantic import Field, TypeAdapter, ValidationError

from harness.checks.base import CheckBase, CheckContext
from harness.checks.probe import ProbeCheck
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
from harness.plugins import Registry
from harness.results.model import CheckResult


def _validate(cls: Any, plugin: bool) -> str:
    """The check's ``type``; TypeError naming the class and what is wrong with it."""
    if not (isinstance(cls, type) and issubclass(cls, CheckBase)):
        raise TypeError(
            f"{cls!r} is not a subclass of harness.checks.CheckBase - a check is a "
            "CheckBase subclass with a `type` literal and evaluate(ctx)"
        )
    field = cls.model_fields.get("type")
    literal = get_args(field.annotation) if field else ()
    if len(literal) != 1 or not isinstance(literal[0], str):
        raise TypeError(f"check {cls.__name__}: needs a field `type: Literal['<name>']`")
    if cls.evaluate is CheckBase.evaluate:
        raise TypeError(f"check {cls.__name__}: does not implement evaluate(ctx)")
    if not cls.unit and cls is not CoreProtectedCheck:
        raise TypeError(f"check {cls.__name__}: needs a ClassVar `unit`")
    if plugin:
        _valid_example(cls, literal[0])
    return literal[0]


def _valid_example(cls: type[CheckBase], name: str) -> None:
    """A plugin check carries ``example``: a minimal valid config the contract tests use."""
    example = getattr(cls, "example", None)
    if not isinstance(example, dict) or not example:
        raise TypeError(
            f"check {cls.__name__}: needs a ClassVar `example` (a dict of the fields of a "
            "minimal valid config, without 'type') for the contract tests"
        )
    try:
        cls.model_validate({"type": name, **example})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "example"
        raise TypeError(
            f"check {cls.__name__}: its `example` does not validate ({where}: {first['msg']})"
        ) from None


REGISTRY: Registry[type[CheckBase]] = Registry("checks", _validate)


def register(cls: type[CheckBase]) -> type[CheckBase]:
    """Add a check class; the message names the class and what is wrong with it."""
    return REGISTRY.add(cls)


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
    ProbeCheck,
):
    register(_cls)


def check_spec() -> Any:
    """The union of every registered check, plugins included (loads them), by ``type``."""
    return Annotated[Union[tuple(REGISTRY.values())], Field(discriminator="type")]  # noqa: UP007


@cache
def _list_adapter() -> TypeAdapter:
    return TypeAdapter(list[check_spec()])


def parse_checks(data: Iterable[dict[str, Any]], source: str = "checks") -> list[CheckBase]:
    """Validate a ``checks:`` list; ValidationFailed lists every problem with its position."""
    try:
        return _list_adapter().validate_python(list(data))
    except ValidationError as exc:
        problems = [f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()]
        raise ValidationFailed(source, problems) from exc


def evaluate_all(checks: Iterable[CheckBase], ctx: CheckContext) -> list[CheckResult]:
    """Evaluate every check (never stopping at a failure), in order."""
    return [check.evaluate(ctx) for check in checks]
