"""A drill, as a typed object: what to load, what to break, when, and what must hold.

Drill files (YAML, see drills/) validate into :class:`Drill`; pytest users can
build the same object in Python. ``harness schema`` prints the JSON Schema for
editors. Phases run back to back; each phase names the fault scripts active in
it and the SLA checks judged over it.
"""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from harness.checks import CheckSpec
from harness.load.outcome import OutcomeRules
from harness.load.shapes import ShapeSpec
from harness.metrics.generator import CPU_LIMIT_PERCENT, LAG_LIMIT_MS

EMBEDDED = "embedded"


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LivenessSpec(_Spec):
    """How the running drill tells a slow target from one that is gone."""

    interval_s: float = Field(
        default=1.0, gt=0, le=60, description="Seconds between two probes of the health path"
    )
    timeout_s: float = Field(
        default=5.0,
        gt=0,
        le=120,
        description="A probe that connects but gets no answer within this is 'slow', never 'gone'",
    )
    give_up_s: float = Field(
        default=5.0,
        gt=0,
        le=3600,
        description="Connections refused (or not accepted) this long: the run is inconclusive",
    )


class TargetSpec(_Spec):
    """The system under test."""

    url: str = Field(description="Base URL of the target, e.g. http://127.0.0.1:8080")
    health_path: str | None = Field(
        default=None,
        description="Path that answers 2xx when the target is healthy, e.g. /healthz; "
        "default: any answer below 500 from / counts",
    )
    metrics_path: str | None = Field(
        default=None, description="Prometheus endpoint to scrape during the drill (optional)"
    )
    scrape_every_s: float = Field(default=1.0, gt=0)
    liveness: LivenessSpec = Field(
        default_factory=LivenessSpec,
        description="Watching that the target is still there while the drill runs",
    )
    allow_hosts: list[str] = Field(
        default_factory=list, description="Non-loopback hosts this drill may send traffic to"
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http(s) URL with a host, e.g. http://127.0.0.1:8080")
        return url.rstrip("/")


class ToxiproxySpec(_Spec):
    """Which Toxiproxy server injects the faults: ``embedded`` (started by the harness) or a URL."""

    url: str = EMBEDDED
    seed: int | None = Field(default=None, description="Seed for the embedded server's randomness")


class ProxySpec(_Spec):
    """A Toxiproxy proxy the drill uses; with ``upstream`` the harness creates it if missing."""

    name: str
    upstream: str | None = None
    listen: str | None = None


class LoadModel(StrEnum):
    CLOSED = "closed"  # a number of users, each waiting for its answer before the next request
    OPEN = "open"  # a fixed arrival rate, whatever the answers take


class LoadSpec(_Spec):
    """The traffic: a Locust scenario, a load model and a shape over time."""

    scenario: str = Field(description="A locustfile: a name in scenarios/ or a path")
    user_classes: list[str] = Field(default_factory=list, description="Default: all in the file")
    model: LoadModel = LoadModel.CLOSED
    shape: ShapeSpec
    spawn_rate_per_s: float = Field(
        default=50.0, gt=0, description="Closed model: users started a second"
    )
    max_concurrency: int = Field(
        default=200, gt=0, description="Open model: users available to send arrivals"
    )
    workers: int = Field(
        default=0, ge=0, description="Locust worker processes; 0 runs the load in-process"
    )
    drain_s: float = Field(
        default=10.0,
        ge=0,
        le=300,
        description="At the end: how long requests in flight may take to finish; "
        "those still open then are recorded as errors",
    )


class GeneratorSpec(_Spec):
    """Bounds on the load generator's own health; past them, latency checks say so (docs/load.md)."""

    max_lag_ms: float = Field(
        default=LAG_LIMIT_MS,
        gt=0,
        description="Event-loop lag of a load process above this in a phase: its latency checks "
        "note that their figure is limited by the load generator",
    )
    max_cpu_percent: float = Field(
        default=CPU_LIMIT_PERCENT,
        gt=0,
        description="CPU of a load process (% of one core, 1 s average) above this: same note",
    )


class WriteRule(_Spec):
    """How to recognise an acknowledged write in the load, and how to read it back afterwards."""

    endpoint: str = Field(description="Locust request name of the write, e.g. tickets:create")
    id_field: str = Field(description="JSON field of the 2xx response holding the id")
    read_path: str = Field(description="Path to read it back, with {id}, e.g. /api/tickets/{id}")
    settled_field: str | None = Field(
        default=None, description="JSON field of the read-back that says the write is durable"
    )
    settled_values: list[str] = Field(
        default_factory=list, description="Values of settled_field that count as durable"
    )

    @field_validator("read_path")
    @classmethod
    def _has_id(cls, path: str) -> str:
        if "{id}" not in path or not path.startswith("/"):
            raise ValueError("must be a path starting with / and containing {id}")
        return path


class AbortMetric(StrEnum):
    ERROR_RATIO = "error_ratio"
    P95_MS = "p95_ms"


class AbortCondition(_Spec):
    """Stop the drill (verdict 'aborted') when ``metric`` stays above ``above`` for ``for_s``."""

    metric: AbortMetric
    above: float = Field(ge=0)
    for_s: float = Field(gt=0)
    min_requests_per_s: float = Field(default=1.0, ge=0)

    def describe(self) -> str:
        return f"{self.metric.value} > {self.above:g} for {self.for_s:g} s"


class PhaseSpec(_Spec):
    """One phase: how long, which fault scripts are active, which checks are judged over it."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    duration_s: float = Field(gt=0)
    faults: list[str] = Field(
        default_factory=list, description="Fault script names (faults/) or paths"
    )
    checks: list[CheckSpec] = Field(default_factory=list)
    abort: list[AbortCondition] = Field(
        default_factory=list,
        description="Abort conditions judged only during this phase (besides the drill's own)",
    )


class CapacitySearch(_Spec):
    """Step the load level up until a step's checks fail; the last passing level is the sustainable peak."""

    start: float = Field(gt=0)
    step: float = Field(gt=0)
    step_s: float = Field(gt=0)
    max: float = Field(gt=0)
    checks: list[CheckSpec]
    min_sustainable: float | None = Field(
        default=None, description="Fail when the peak is below this"
    )


class Drill(_Spec):
    """A whole drill."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    target: TargetSpec
    toxiproxy: ToxiproxySpec = ToxiproxySpec()
    proxies: list[ProxySpec] = Field(default_factory=list)
    load: LoadSpec
    generator: GeneratorSpec = Field(
        default_factory=GeneratorSpec, description="Bounds on the load generator's own health"
    )
    outcomes: OutcomeRules = OutcomeRules()
    writes: list[WriteRule] = Field(default_factory=list)
    bucket_s: float = Field(default=0.25, gt=0, le=10)
    phases: list[PhaseSpec] = Field(default_factory=list)
    capacity_search: CapacitySearch | None = None
    checks: list[CheckSpec] = Field(default_factory=list, description="Checks over the whole drill")
    abort: list[AbortCondition] = Field(default_factory=list)
    baseline_phase: str | None = Field(default=None, description="Default: the first phase")

    @model_validator(mode="after")
    def _consistent(self) -> Drill:
        if not self.phases and self.capacity_search is None:
            raise ValueError("give 'phases' (or 'capacity_search')")
        names = [p.name for p in self.phases]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"phase names must be unique; repeated: {', '.join(duplicates)}")
        for phase in self.phases:
            if not _is_multiple(phase.duration_s, self.bucket_s):
                raise ValueError(
                    f"phase {phase.name!r}: duration_s {phase.duration_s:g} is not a multiple of "
                    f"bucket_s {self.bucket_s:g}; round it"
                )
        if self.baseline_phase is not None and self.baseline_phase not in names:
            raise ValueError(
                f"baseline_phase {self.baseline_phase!r} is not a phase (phases: {', '.join(names)})"
            )
        for check in self.checks:
            phase = getattr(check, "phase", None)
            if phase is not None and phase not in names:
                raise ValueError(
                    f"check {check.type!r} names phase {phase!r}, which does not exist "
                    f"(phases: {', '.join(names)})"
                )
        return self

    @property
    def duration_s(self) -> float:
        return sum(p.duration_s for p in self.phases)

    @property
    def baseline(self) -> str | None:
        return self.baseline_phase or (self.phases[0].name if self.phases else None)

    def phase_windows(self) -> list[tuple[str, float, float]]:
        """(name, start_s, end_s) of every phase, back to back from 0."""
        windows, start = [], 0.0
        for phase in self.phases:
            windows.append((phase.name, start, start + phase.duration_s))
            start += phase.duration_s
        return windows


def _is_multiple(value: float, unit: float) -> bool:
    ratio = value / unit
    return abs(ratio - round(ratio)) < 1e-6


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback name or address (127.0.0.0/8, ::1, localhost)."""
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


TargetKind = Literal["target", "toxiproxy"]
