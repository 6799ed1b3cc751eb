"""A drill, as a typed object: what to load, what to break, when, and what must hold.

Drill files (YAML, see drills/) validate into :class:`Drill`; pytest users can
build the same object in Python. ``harness schema`` prints the JSON Schema for
editors. Phases run back to back; each phase names the fault scripts active in
it and the SLA checks judged over it.
"""

from __future__ import annotations

import ipaddress
import math
import re
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
    MAX_PHASES,
    MAX_SPAWN_RATE_PER_S,
    MAX_USERS,
    MAX_WORKERS,
    MIN_BUCKET_S,
    MIN_POLL_S,
    over,
)
from harness.load import jsonpath, shapes
from harness.load.outcome import OutcomeRules
from harness.load.shapes import ShapeSpec, Surge
from harness.metrics.generator import CPU_LIMIT_PERCENT, LAG_LIMIT_MS

EMBEDDED = "embedded"

# The check and shape unions hold every registered type, plugins included: building
# them reads the registries' entry-point groups (harness.plugins, docs/plugins.md).
CheckSpec = check_spec()
AnyShape = shapes.shape_spec()


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
    shape: AnyShape
    spawn_rate_per_s: float = Field(
        default=50.0,
        gt=0,
        le=MAX_SPAWN_RATE_PER_S,
        description="Closed model: users started a second",
    )
    max_concurrency: int = Field(
        default=200, gt=0, le=MAX_USERS, description="Open model: users available to send arrivals"
    )
    workers: int = Field(
        default=0,
        ge=0,
        le=MAX_WORKERS,
        description="Locust worker processes; 0 runs the load in-process",
    )
    drain_s: float = Field(
        default=10.0,
        ge=0,
        le=300,
        description="At the end: how long requests in flight may take to finish; "
        "those still open then are recorded as errors",
    )

    @model_validator(mode="after")
    def _bounded_level(self) -> LoadSpec:
        peak = peak_level(self.shape)
        if peak > MAX_LOAD_LEVEL:
            raise ValueError(
                f"the shape reaches a load level of {peak:g} (users or arrivals a second), "
                f"{over('MAX_LOAD_LEVEL', MAX_LOAD_LEVEL)}; lower it"
            )
        return self


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


ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")  # ${NAME} in read_headers
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an HTTP token (RFC 9110)


def _one_group_regex(pattern: str) -> str:
    """``pattern`` if it compiles and has exactly one group (around the id)."""
    try:
        groups = re.compile(pattern).groups
    except re.error as exc:
        raise ValueError(f"is not a valid regular expression ({exc}) - fix the pattern") from None
    if groups != 1:
        raise ValueError(
            f"must have exactly one group (parentheses) around the id, has {groups}; "
            "e.g. /tickets/(T-\\d+), and (?:...) for other grouping"
        )
    return pattern


def _json_path(path: str) -> str:
    jsonpath.parse(path)
    return path


class RequestId(_Spec):
    """The id as the request carries it (a client-made id or idempotency key): known in advance."""

    header: str | None = Field(default=None, description="Request header, e.g. Idempotency-Key")
    json_path: str | None = Field(
        default=None,
        alias="json",
        description="JSON path in the request body, e.g. client_ref or ticket.ref",
    )

    @field_validator("json_path")
    @classmethod
    def _path(cls, path: str | None) -> str | None:
        return None if path is None else _json_path(path)

    @model_validator(mode="after")
    def _one_source(self) -> RequestId:
        if (self.header is None) == (self.json_path is None):
            raise ValueError("give exactly one of 'header' or 'json'")
        return self


class JsonEquals(_Spec):
    """A JSON answer whose value at ``path`` equals ``equals``."""

    path: str = Field(description="JSON path, e.g. error or data.ticket")
    equals: bool | int | float | str

    @field_validator("path")
    @classmethod
    def _path(cls, path: str) -> str:
        return _json_path(path)


class AbsentSpec(_Spec):
    """What a read-back that says "not there" looks like: any of these (docs/drills.md).

    A status in ``status``; or an answer below 500 whose body contains ``body_contains``
    or whose JSON matches ``json``. A read-back that fails (5xx, timeout, refused) or
    answers something else that is not 2xx cannot decide: unverifiable, never verified.
    """

    status: list[int] = Field(
        default_factory=lambda: [404, 410], description="Statuses that mean the write is not there"
    )
    body_contains: str | None = Field(
        default=None, min_length=1, description='Text of an answer meaning "no such item"'
    )
    json_match: JsonEquals | None = Field(
        default=None, alias="json", description='A JSON answer meaning "no such item"'
    )

    @field_validator("status")
    @classmethod
    def _statuses(cls, statuses: list[int]) -> list[int]:
        wrong = [s for s in statuses if not 200 <= s <= 499]
        if wrong:
            raise ValueError(
                f"must be statuses from 200 to 499 (a 5xx cannot tell absent from broken), "
                f"got {', '.join(map(str, wrong))}"
            )
        return statuses


class WriteRule(_Spec):
    """How to recognise a write in the load, and how to read it back afterwards.

    The id comes from exactly one source: the answer's JSON (``id_field`` for a top-level
    field, ``id_json`` for a path), one of its headers (``id_header``, with ``id_regex``),
    its body (``id_body_regex``), or the request itself (``id_from_request``).
    """

    endpoint: str = Field(description="Locust request name of the write, e.g. tickets:create")
    id_field: str | None = Field(
        default=None, description="Top-level JSON field of the answer holding the id"
    )
    id_json: str | None = Field(
        default=None,
        description="JSON path in the answer holding the id, e.g. data.ticket.id or items[0].id",
    )
    id_header: str | None = Field(
        default=None, description="Header of the answer holding the id, e.g. Location"
    )
    id_regex: str | None = Field(
        default=None,
        description="With id_header: a regular expression with one group around the id, "
        "e.g. /tickets/(T-\\d+) (default: the whole header value)",
    )
    id_body_regex: str | None = Field(
        default=None,
        description="A regular expression with one group around the id, searched in the body",
    )
    id_from_request: RequestId | None = Field(
        default=None,
        description="The id the request carries (known in advance): writes whose answer "
        "was lost are read back too",
    )
    ack_status: list[int] | None = Field(
        default=None,
        description="Statuses of the answer to the write that acknowledge it "
        "(default: any 2xx; with id_header any 2xx or 3xx)",
    )
    read_path: str = Field(description="Path to read it back, with {id}, e.g. /api/tickets/{id}")
    read_headers: dict[str, str] = Field(
        default_factory=dict,
        description="Headers of the read-back requests; ${NAME} is the environment "
        "variable NAME (which must be set), e.g. Authorization: Basic ${DESK_AUTH}",
    )
    absent: AbsentSpec = Field(
        default_factory=AbsentSpec,
        description="What a read-back answer meaning 'not there' looks like",
    )
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

    @field_validator("id_json")
    @classmethod
    def _id_json(cls, path: str | None) -> str | None:
        return None if path is None else _json_path(path)

    @field_validator("id_regex", "id_body_regex")
    @classmethod
    def _regex(cls, pattern: str | None) -> str | None:
        return None if pattern is None else _one_group_regex(pattern)

    @field_validator("ack_status")
    @classmethod
    def _ack(cls, statuses: list[int] | None) -> list[int] | None:
        wrong = [s for s in statuses or [] if not 200 <= s <= 399]
        if wrong:
            raise ValueError(
                f"must be 2xx or 3xx statuses, got {', '.join(map(str, wrong))}; an error "
                "status is never an acknowledgement (5xx and lost answers are counted as "
                "indeterminate writes)"
            )
        if statuses is not None and not statuses:
            raise ValueError("must name at least one status (or leave it out for the default)")
        return statuses

    @field_validator("read_headers")
    @classmethod
    def _headers(cls, headers: dict[str, str]) -> dict[str, str]:
        for name, value in headers.items():
            if not _HEADER_NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not a header name (letters, digits, '-')")
            if "\n" in value or "\r" in value:
                raise ValueError(f"header {name!r}: a value must be one line")
            rest = ENV_REFERENCE.sub("", value)
            if "${" in rest:
                raise ValueError(
                    f"header {name!r}: write environment variables as ${{NAME}} "
                    f"(letters, digits, _), got {value!r}"
                )
        return headers

    @model_validator(mode="after")
    def _one_source(self) -> WriteRule:
        given = [f for f in ID_SOURCES if getattr(self, f) is not None]
        if len(given) != 1:
            seen = f"got {' and '.join(given)}" if given else "got none"
            raise ValueError(
                f"give exactly one id source: {', '.join(ID_SOURCES)} ({seen}); "
                "e.g. id_header: Location with id_regex: '/tickets/(T-\\d+)'"
            )
        if self.id_regex is not None and self.id_header is None:
            raise ValueError(
                "id_regex reads a header: add id_header (e.g. Location), or use "
                "id_body_regex to search the body"
            )
        if self.settled_values and self.settled_field is None:
            raise ValueError("settled_values needs settled_field (the read-back's JSON field)")
        return self

    def acknowledges(self, status: int) -> bool:
        """Whether an answer with ``status`` acknowledges the write."""
        if self.ack_status is not None:
            return status in self.ack_status
        return 200 <= status < (400 if self.id_header is not None else 300)

    def env_references(self) -> dict[str, list[str]]:
        """Environment variables the read-back headers name: header -> variable names."""
        refs = {name: ENV_REFERENCE.findall(value) for name, value in self.read_headers.items()}
        return {name: found for name, found in refs.items() if found}


ID_SOURCES = ("id_field", "id_json", "id_header", "id_body_regex", "id_from_request")


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


def peak_level(shape: ShapeSpec) -> float:
    """The highest load level ``shape`` asks for (users or arrivals a second)."""
    if isinstance(shape, Surge):
        return shape.base * shape.factor
    fields = ("level_", "start", "end", "low", "high", "max")
    return max(float(getattr(shape, f)) for f in fields if hasattr(shape, f))


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback name or address (127.0.0.0/8, ::1, localhost)."""
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


TargetKind = Literal["target", "toxiproxy"]
