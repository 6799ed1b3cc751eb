"""Typed records exchanged with a Toxiproxy server: what we ask for, what it reports.

``ProxySpec`` and ``ToxicSpec`` are requests (what the harness wants to exist);
``ProxyInfo`` and ``ToxicInfo`` are observations (what the server says exists).
Attribute names inside ``ToxicSpec``/``ToxicInfo`` are Toxiproxy's wire names
(``latency``, ``rate``...); the unit-suffixed names users write live in the
fault model (``harness.faults.model``) and are mapped by the registry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Stream(StrEnum):
    """Direction a toxic acts on: upstream = client->server, downstream = server->client."""

    UPSTREAM = "upstream"
    DOWNSTREAM = "downstream"


@dataclass(frozen=True)
class ProxySpec:
    """A proxy the harness wants: ``listen`` None or port 0 means any free port."""

    name: str
    upstream: str
    listen: str | None = None
    enabled: bool = True


@dataclass(frozen=True)
class ToxicSpec:
    """A toxic to add to a proxy, in Toxiproxy's terms (wire attribute names)."""

    name: str
    type: str
    stream: Stream = Stream.DOWNSTREAM
    toxicity: float = 1.0
    attributes: Mapping[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Return the JSON body Toxiproxy expects for this toxic."""
        return {
            "name": self.name,
            "type": self.type,
            "stream": str(self.stream),
            "toxicity": self.toxicity,
            "attributes": dict(self.attributes),
        }


@dataclass(frozen=True)
class ToxicInfo:
    """A toxic as a Toxiproxy server reports it."""

    name: str
    type: str
    stream: str
    toxicity: float
    attributes: Mapping[str, Any]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ToxicInfo:
        """Build from one element of a proxy's ``toxics`` array."""
        return cls(
            name=str(data.get("name", "")),
            type=str(data.get("type", "")),
            stream=str(data.get("stream", "downstream")),
            toxicity=float(data.get("toxicity", 1.0)),
            attributes=dict(data.get("attributes") or {}),
        )


@dataclass(frozen=True)
class ProxyInfo:
    """A proxy as a Toxiproxy server reports it, with its toxics."""

    name: str
    listen: str
    upstream: str
    enabled: bool
    toxics: list[ToxicInfo]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ProxyInfo:
        """Build from one value of ``GET /proxies``."""
        return cls(
            name=str(data["name"]),
            listen=str(data.get("listen", "")),
            upstream=str(data.get("upstream", "")),
            enabled=bool(data.get("enabled", True)),
            toxics=[ToxicInfo.from_json(t) for t in data.get("toxics") or []],
        )

    def toxic(self, name: str) -> ToxicInfo | None:
        """Return the toxic called ``name``, or None."""
        return next((t for t in self.toxics if t.name == name), None)
