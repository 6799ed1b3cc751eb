"""The fault-type registry: one entry per fault type, one contract each.

A fault type says which unit-suffixed attributes a fault of that type takes,
which are required, and how each maps onto Toxiproxy's wire attribute.
``down`` is the one type that is not a toxic: it disables the proxy.

To add a type: add a :class:`FaultType` to ``FAULT_TYPES`` (and, for a new
attribute, a field on ``harness.faults.model.Fault``). The contract tests in
``tests/unit/faults`` are parametrized over this registry.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ATTRIBUTE_FIELDS", "DOWN", "FAULT_TYPES", "Attribute", "FaultType"]

DOWN = "down"


@dataclass(frozen=True)
class Attribute:
    """One attribute of a fault type: the name users write and Toxiproxy's name for it."""

    field: str
    wire: str
    required: bool
    default: int = 0
    help: str = ""


@dataclass(frozen=True)
class FaultType:
    """A fault type: its name, whether it is a toxic, and its attributes."""

    name: str
    toxic: bool
    attributes: tuple[Attribute, ...]
    help: str

    def attribute(self, field: str) -> Attribute | None:
        """The attribute whose user-facing name is ``field``, or None."""
        return next((a for a in self.attributes if a.field == field), None)

    @property
    def field_names(self) -> tuple[str, ...]:
        """User-facing attribute names, in declaration order."""
        return tuple(a.field for a in self.attributes)


def _types(*types: FaultType) -> dict[str, FaultType]:
    return {t.name: t for t in types}


FAULT_TYPES: dict[str, FaultType] = _types(
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

ATTRIBUTE_FIELDS: tuple[str, ...] = tuple(
    dict.fromkeys(a.field for t in FAULT_TYPES.values() for a in t.attributes)
)
"""Every unit-suffixed attribute any fault type takes (each is a field of ``Fault``)."""
