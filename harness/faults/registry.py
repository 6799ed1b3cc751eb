"""The fault-type registry: one entry per fault type, one contract each.

A fault type says what it acts on (its :class:`Target`: a Toxiproxy toxic, a
whole proxy, a local process or a command), which unit-suffixed attributes a
fault of that type takes, which are required, and how each maps onto
Toxiproxy's wire attribute. ``down`` disables a proxy; ``kill``, ``stop`` and
``command`` have no proxy at all: they act on this machine
(``harness.faults.local``). Their settings (``process``, ``restart``,
``apply``...) are :class:`Option`\\ s.

To add a type: add a :class:`FaultType` to ``FAULT_TYPES`` (and, for a new
attribute or option, a field on ``harness.faults.model.Fault``). The contract
tests in ``tests/unit/faults`` are parametrized over this registry and build
each type from its ``example``.

Plugins add toxic types (a Toxiproxy server built with that toxic) through the
``cs_harness.faults`` entry-point group (``harness.plugins``), read the first time
:data:`FAULT_TYPES` is read. Their attributes must be fields ``Fault`` already has
(:data:`ATTRIBUTE_FIELDS`); process and command types are dispatched by name in
``harness.faults.local``, so plugins cannot add those.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from harness.plugins import Registry

__all__ = [
    "ATTRIBUTE_FIELDS",
    "COMMAND",
    "DOWN",
    "FAULT_TYPES",
    "KILL",
    "OPTION_FIELDS",
    "STOP",
    "Attribute",
    "FaultType",
    "Option",
    "Target",
]

DOWN = "down"
KILL = "kill"
STOP = "stop"
COMMAND = "command"


class Target(StrEnum):
    """What a fault type acts on."""

    TOXIC = "toxic"  # a toxic on a Toxiproxy proxy
    PROXY = "proxy"  # the whole proxy (disabled)
    PROCESS = "process"  # a local process (a signal)
    COMMAND = "command"  # commands run on this machine

    @property
    def uses_proxy(self) -> bool:
        """True for the Toxiproxy targets (a fault of this kind names a ``proxy``)."""
        return self in (Target.TOXIC, Target.PROXY)


@dataclass(frozen=True)
class Attribute:
    """One attribute of a fault type: the name users write and Toxiproxy's name for it."""

    field: str
    wire: str
    required: bool
    default: int = 0
    help: str = ""


@dataclass(frozen=True)
class Option:
    """A non-numeric setting of a fault type (``process``, ``restart``, ``apply``...)."""

    field: str
    required: bool
    help: str = ""


@dataclass(frozen=True)
class FaultType:
    """A fault type: its name, whether it is a toxic, its attributes, options and target.

    ``example`` is a minimal valid set of fields (besides ``name`` and ``type``),
    for the contract tests and docs; toxics and ``down`` derive theirs.
    """

    name: str
    toxic: bool
    attributes: tuple[Attribute, ...]
    help: str
    target: Target | None = None  # None: TOXIC when ``toxic``, else PROXY
    options: tuple[Option, ...] = ()
    example: Mapping[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> Target:
        """What a fault of this type acts on."""
        if self.target is not None:
            return self.target
        return Target.TOXIC if self.toxic else Target.PROXY

    def option(self, name: str) -> Option | None:
        """The option called ``name``, or None."""
        return next((o for o in self.options if o.field == name), None)

    def minimal(self) -> dict[str, Any]:
        """A minimal valid set of fields for a fault of this type (besides name and type)."""
        if self.example:
            return dict(self.example)
        required = {a.field: 7 for a in self.attributes if a.required}
        return {"proxy": "p", **required}

    def attribute(self, field: str) -> Attribute | None:
        """The attribute whose user-facing name is ``field``, or None."""
        return next((a for a in self.attributes if a.field == field), None)

    @property
    def field_names(self) -> tuple[str, ...]:
        """User-facing attribute names, in declaration order."""
        return tuple(a.field for a in self.attributes)


_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def _validate(spec: Any, plugin: bool) -> str:
    """The type's name; TypeError saying what is wrong with it."""
    if not isinstance(spec, FaultType):
        raise TypeError(f"{spec!r} is not a harness.faults.FaultType")
    if not _NAME.match(spec.name):
        raise TypeError(f"fault type {spec.name!r}: a name is lowercase letters, digits and _")
    if plugin:
        _valid_plugin_type(spec)
    return spec.name


def _valid_plugin_type(spec: FaultType) -> None:
    if spec.kind is not Target.TOXIC:
        raise TypeError(
            f"fault type {spec.name!r}: plugins add toxic types only (toxic=True), got "
            f"target {spec.kind.value!r}"
        )
    unknown = [a.field for a in spec.attributes if a.field not in ATTRIBUTE_FIELDS]
    if unknown or spec.options:
        fields = ", ".join(unknown + [o.field for o in spec.options])
        raise TypeError(
            f"fault type {spec.name!r}: {fields} is not a field of a fault; use attributes "
            f"among {', '.join(ATTRIBUTE_FIELDS)}"
        )


FAULT_TYPES: Registry[FaultType] = Registry("fault types", _validate)


def _types(*types: FaultType) -> None:
    for spec in types:
        FAULT_TYPES.add(spec)


_types(
    FaultType(
        "latency",
        True,
        (
            Attribute("latency_ms", "latency", True, help="delay added to each chunk, ms"),
            Attribute("jitter_ms", "jitter", False, help="+/- random variation, ms"),
        ),
        "delay data by latency_ms +/- jitter_ms",
    ),
    FaultType(
        DOWN,
        False,
        (),
        "disable the proxy: new connections are refused, open ones are closed",
    ),
    FaultType(
        "timeout",
        True,
        (Attribute("timeout_ms", "timeout", True, help="0 = black hole until removed"),),
        "stop all data and close after timeout_ms; 0 keeps the connection open and drops data",
    ),
    FaultType(
        "reset_peer",
        True,
        (Attribute("timeout_ms", "timeout", False, help="delay before the RST, ms"),),
        "close connections with a TCP RST, at once or after timeout_ms",
    ),
    FaultType(
        "bandwidth",
        True,
        (Attribute("rate_kbps", "rate", True, help="KB/s (kilobytes, as Toxiproxy's rate)"),),
        "limit throughput to rate_kbps kilobytes per second",
    ),
    FaultType(
        "slicer",
        True,
        (
            Attribute("average_size_bytes", "average_size", True, help="mean slice size"),
            Attribute("size_variation_bytes", "size_variation", False, help="+/- slice size"),
            Attribute("delay_us", "delay", False, help="pause between slices, microseconds"),
        ),
        "cut data into small slices with a delay between them",
    ),
    FaultType(
        "limit_data",
        True,
        (Attribute("bytes", "bytes", True, help="bytes let through before closing"),),
        "close the connection after `bytes` bytes",
    ),
    FaultType(
        "slow_close",
        True,
        (Attribute("delay_ms", "delay", True, help="delay before the socket closes, ms"),),
        "delay the close of the socket by delay_ms",
    ),
)

_PROCESS = Option(
    "process", True, "the process: {pid_file: PATH} | {port: N} | {pattern: REGEX}"
)

_types(
    FaultType(
        KILL,
        False,
        (),
        "send a signal (SIGKILL by default) to a local process at the window's start; "
        "run the optional restart command at its end",
        Target.PROCESS,
        (
            _PROCESS,
            Option("signal", False, "signal name, default SIGKILL"),
            Option("restart", False, "argument list run at the window's end"),
            Option("restart_timeout_s", False, "time limit of the restart, default 30 s"),
        ),
        {"process": {"pid_file": "/run/app.pid"}},
    ),
    FaultType(
        STOP,
        False,
        (),
        "freeze a local process with SIGSTOP at the window's start, SIGCONT at its end",
        Target.PROCESS,
        (_PROCESS,),
        {"process": {"port": 5432}},
    ),
    FaultType(
        COMMAND,
        False,
        (),
        "run the apply command at the window's start and the revert command at its end",
        Target.COMMAND,
        (
            Option("apply", True, "argument list (a string with shell: true)"),
            Option("revert", True, "argument list (a string with shell: true)"),
            Option("shell", False, "run both through /bin/sh, default false"),
            Option("timeout_s", False, "time limit of each command, default 30 s"),
        ),
        {"apply": ["true"], "revert": ["true"]},
    ),
)

OPTION_FIELDS: tuple[str, ...] = tuple(
    dict.fromkeys(o.field for t in FAULT_TYPES.current().values() for o in t.options)
)
"""Every option any fault type takes (each is a field of ``Fault``)."""

ATTRIBUTE_FIELDS: tuple[str, ...] = tuple(
    dict.fromkeys(a.field for t in FAULT_TYPES.current().values() for a in t.attributes)
)
"""Every unit-suffixed attribute any fault type takes (each is a field of ``Fault``)."""
