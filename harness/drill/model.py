"""A drill, as a typed object: what to load, what to break, when, and what must hold.

Drill files (YAML, see drills/) validate into :class:`Drill`; pytest users can
build the same object in Python. ``harness schema`` prints the JSON Schema for
editors. Phases run back to back; each phase names the fault scripts active in
it and the SLA checks judged over it.
"""

from __future__ import annotations

import ipaddress
import math
from enum import StrEnum
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from harness.checks import check_spec
from harness.limits import (
    MAX_BUCKETS,
    MAX_DRILL_S,
    MAX_LOAD_LEVEL,
    MAX_NAME_CHARS,
    MAX_NAMED_LANES,
    MAX_PHASES,
    MIN_BUCKET_S,
    MIN_POLL_S,
    over,
)
from harness.load.outcome import OutcomeRules
from harness.load.spec import (  # noqa: F401 (the load's own types, re-exported)
    ENV_REFERENCE,
    ID_SOURCES,
    AbsentSpec,
    JsonEquals,
    LoadModel,
    LoadSpec,
    RequestId,
    WriteRule,
    peak_level,
)
from harness.metrics.generator import CPU_LIMIT_PERCENT, LAG_LIMIT_MS

EMBEDDED = "embedded"

# The check and shape unions hold every registered type, plugins included: building
# them reads the registries' entry-point groups (harness.plugins, docs/plugins.md).
CheckSpec = check_spec()


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LivenessSpec(_Spec):
    """How the running drill tells a slow target from one that is gone."""

    interval_s: float = Field(
        default=1.0,
        ge=MIN_POLL_S,
        le=60,
        description="Seconds between two probes of the health path",
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
    scrape_every_s: float = Field(default=1.0, ge=MIN_POLL_S, le=MAX_DRILL_S)
    lanes: list[str] = Field(
        default_factory=list,
        max_length=MAX_NAMED_LANES,
        description="Series of metrics_path drawn as lanes on the report's timeline, in this "
        "order: a name (helpdesk_breaker_state) stands for each of its label sets, a name "
        "with labels (helpdesk_breaker_state{dependency=\"orders\"}) for that one; "
        "default: the series that changed, states first, at most 8",
    )
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

    @model_validator(mode="after")
    def _lanes_need_metrics(self) -> TargetSpec:
        if self.lanes and self.metrics_path is None:
            raise ValueError(
                "lanes draws series of the target's /metrics: set metrics_path too "
                "(e.g. metrics_path: /metrics)"
            )
        return self


class ToxiproxySpec(_Spec):
    """Which Toxiproxy server injects the faults: ``embedded`` (started by the harness) or a URL."""

    url: str = EMBEDDED
    seed: int | None = Field(default=None, description="Seed for the embedded server's randomness")


class ProxySpec(_Spec):
    """A Toxiproxy proxy the drill uses; with ``upstream`` the harness creates it if missing."""

    name: str
    upstream: str | None = None
    listen: str | None = None


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


class HttpProbe(_Spec):
    """An HTTP request to the target (or any URL) and the answer it must get."""

    path: str = Field(description="Path on the target (e.g. /healthz) or a full http(s) URL")
    method: Literal["GET", "HEAD", "POST"] = Field(default="GET", description="HTTP method")
    status: list[int] = Field(
        default_factory=lambda: [200], min_length=1, description="Statuses that pass"
    )
    body_contains: str | None = Field(
        default=None, min_length=1, description="Text the answer's body must contain"
    )

    @field_validator("path")
    @classmethod
    def _path_or_url(cls, path: str) -> str:
        if path.startswith("/") or urlsplit(path).scheme in ("http", "https"):
            return path
        raise ValueError("must be a path starting with / or an http(s) URL")


class CommandProbe(_Spec):
    """A command run on this machine (no shell) and what it must answer."""

    argv: list[str] = Field(min_length=1, description="Argument list, e.g. [pg_isready, -q]")
    exit_code: int = Field(default=0, description="Exit code that passes")
    output_contains: str | None = Field(
        default=None, min_length=1, description="Text its stdout or stderr must contain"
    )


class MetricProbe(_Spec):
    """A series of the target's Prometheus endpoint (target.metrics_path) against bounds."""

    name: str = Field(pattern=r"^[a-zA-Z_:][a-zA-Z0-9_:]*$", description="Metric name")
    labels: dict[str, str] = Field(default_factory=dict, description="Labels the series has")
    min: float | None = Field(default=None, description="Passes when the value is at least this")
    max: float | None = Field(default=None, description="Passes when the value is at most this")

    @model_validator(mode="after")
    def _a_bound(self) -> MetricProbe:
        if self.min is None and self.max is None:
            raise ValueError("give min or max (or both)")
        return self


class ProbeSpec(_Spec):
    """A side check run beside the load on a schedule and/or at phase starts (docs/drills.md).

    Exactly one of ``http``, ``command``, ``metric``. Its runs go to raw/probes.jsonl;
    a ``probe`` check judges the share that passed per phase or window.
    """

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", max_length=MAX_NAME_CHARS)
    every_s: float | None = Field(
        default=None, ge=MIN_POLL_S, le=MAX_DRILL_S, description="Run every this many seconds"
    )
    at_phase_start: bool = Field(default=False, description="Run when each phase starts")
    timeout_s: float = Field(default=2.0, gt=0, le=60, description="A run slower than this fails")
    http: HttpProbe | None = Field(default=None, description="An HTTP request and its answer")
    command: CommandProbe | None = Field(
        default=None, description="A command on this machine and its exit code"
    )
    metric: MetricProbe | None = Field(
        default=None, description="A series of the target's /metrics against bounds"
    )

    @model_validator(mode="after")
    def _one_kind(self) -> ProbeSpec:
        kinds = [k for k in ("http", "command", "metric") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError(
                f"give exactly one of http, command, metric (got {', '.join(kinds) or 'none'})"
            )
        if self.every_s is None and not self.at_phase_start:
            raise ValueError("give every_s, at_phase_start: true, or both (when it runs)")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in ("http", "command", "metric") if getattr(self, k) is not None)


class PhaseSpec(_Spec):
    """One phase: how long, which fault scripts are active, which checks are judged over it."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", max_length=MAX_NAME_CHARS)
    duration_s: float = Field(gt=0, le=MAX_DRILL_S)
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

    start: float = Field(gt=0, le=MAX_LOAD_LEVEL)
    step: float = Field(gt=0, le=MAX_LOAD_LEVEL)
    step_s: float = Field(gt=0, le=MAX_DRILL_S)
    max: float = Field(gt=0, le=MAX_LOAD_LEVEL)
    checks: list[CheckSpec]
    min_sustainable: float | None = Field(
        default=None, description="Fail when the peak is below this"
    )

    @model_validator(mode="after")
    def _bounded_steps(self) -> CapacitySearch:
        if self.max < self.start:
            raise ValueError(f"max {self.max:g} is below start {self.start:g}; raise max")
        steps = int((self.max - self.start) // self.step) + 1
        if steps > MAX_PHASES:
            raise ValueError(
                f"start {self.start:g} to max {self.max:g} by {self.step:g} makes {steps} steps, "
                f"{over('MAX_PHASES', MAX_PHASES)}; raise step"
            )
        if steps * self.step_s > MAX_DRILL_S:
            raise ValueError(
                f"{steps} steps of {self.step_s:g} s last {steps * self.step_s:g} s, "
                f"{over('MAX_DRILL_S', MAX_DRILL_S, ' s')}; shorten step_s or raise step"
            )
        return self


class Drill(_Spec):
    """A whole drill."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", max_length=MAX_NAME_CHARS)
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
    bucket_s: float = Field(default=0.25, ge=MIN_BUCKET_S, le=10)
    phases: list[PhaseSpec] = Field(default_factory=list)
    capacity_search: CapacitySearch | None = None
    checks: list[CheckSpec] = Field(default_factory=list, description="Checks over the whole drill")
    abort: list[AbortCondition] = Field(default_factory=list)
    probes: list[ProbeSpec] = Field(
        default_factory=list, description="Side checks run beside the load (HTTP, command, metric)"
    )
    baseline_phase: str | None = Field(default=None, description="Default: the first phase")

    @model_validator(mode="after")
    def _consistent(self) -> Drill:
        if not self.phases and self.capacity_search is None:
            raise ValueError("give 'phases' (or 'capacity_search')")
        _within_limits(self.phases, self.bucket_s)
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
        _probes_consistent(self)
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
    return math.isfinite(ratio) and abs(ratio - round(ratio)) < 1e-6


def _probes_consistent(drill: Drill) -> None:
    """Probe names unique, probe checks naming a probe, metric probes with a metrics_path."""
    names = [p.name for p in drill.probes]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"probe names must be unique; repeated: {', '.join(duplicates)}")
    if any(p.metric is not None for p in drill.probes) and not drill.target.metrics_path:
        raise ValueError("a metric probe reads the target's /metrics: set target.metrics_path")
    search = drill.capacity_search
    if search is not None and any(c.type == "probe" for c in search.checks):
        raise ValueError(
            "capacity_search.checks: a probe check is judged after the run, not per step; "
            "put it in checks: or a phase's checks:"
        )
    checks = [*drill.checks, *(c for p in drill.phases for c in p.checks)]
    for check in checks:
        probe = getattr(check, "probe", None) if check.type == "probe" else None
        if probe is not None and probe not in names:
            raise ValueError(
                f"check 'probe' names probe {probe!r}, which does not exist "
                f"(probes: {', '.join(names) or 'none'}); declare it under probes:"
            )


def _within_limits(phases: list[PhaseSpec], bucket_s: float) -> None:
    """Refuse more phases, seconds or time buckets than a run may hold (harness.limits)."""
    if len(phases) > MAX_PHASES:
        raise ValueError(f"the drill has {len(phases)} phases, {over('MAX_PHASES', MAX_PHASES)}")
    total_s = sum(p.duration_s for p in phases)
    if total_s > MAX_DRILL_S:
        raise ValueError(
            f"the phases add up to {total_s:g} s, {over('MAX_DRILL_S', MAX_DRILL_S, ' s')}; "
            "shorten them"
        )
    if total_s / bucket_s > MAX_BUCKETS:
        raise ValueError(
            f"{total_s:g} s in buckets of {bucket_s:g} s make {total_s / bucket_s:.0f} time "
            f"buckets, {over('MAX_BUCKETS', MAX_BUCKETS)}; raise bucket_s or shorten the drill"
        )


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback name or address (127.0.0.0/8, ::1, localhost)."""
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


TargetKind = Literal["target", "toxiproxy"]
