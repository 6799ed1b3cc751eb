"""The report model: what a finished (or interrupted) drill measured and concluded.

This is the schema of ``report.json`` (documented in docs/report-json.md); every
report format (HTML, Markdown, JUnit) renders from a :class:`RunReport` alone, and
a :class:`RunReport` is rebuilt from the raw records of a run directory alone.
Times are seconds from the start of the drill (``t_s``) unless a name says otherwise.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1


class Verdict(StrEnum):
    """The drill's conclusion. Exit codes: pass 0, fail 1, inconclusive 3, aborted 4."""

    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"
    ABORTED = "aborted"


class Outcome(StrEnum):
    """How one request turned out, as the customer experienced it."""

    OK = "ok"
    FALLBACK = "fallback"
    DEGRADED = "degraded"
    SHED = "shed"
    ERROR = "error"


class EventKind(StrEnum):
    """Kinds of entries on the drill's timeline (the journal)."""

    RUN_STARTED = "run_started"
    PHASE_STARTED = "phase_started"
    PHASE_ENDED = "phase_ended"
    FAULT_APPLIED = "fault_applied"
    FAULT_REVERTED = "fault_reverted"
    FAULT_REVERT_FAILED = "fault_revert_failed"
    ABORTED = "aborted"
    INFRASTRUCTURE_ERROR = "infrastructure_error"
    SERVER_STATE = "server_state"  # e.g. a breaker state change seen in the target's /metrics
    FAILOVER = "failover"  # measured: service back above threshold after a fault started
    RECOVERY = "recovery"  # measured: back to baseline after a fault ended
    NOTE = "note"
    RUN_ENDED = "run_ended"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CheckResult(_Model):
    """One SLA check, evaluated: the threshold next to the measured value."""

    name: str
    type: str
    phase: str | None = None  # None: drill-wide
    comparator: str  # "<=" or ">=": passed when `measured comparator threshold`
    threshold: float
    measured: float | None  # None: nothing to measure (counts as failed)
    unit: str  # "ms", "s", "ratio", "rps", "count"
    passed: bool
    detail: str = ""  # one sentence: what was measured over what, and why it failed
    window_s: float | None = None  # sliding-window checks: the window length
    worst_window_start_s: float | None = (
        None  # sliding-window checks: where the worst window starts
    )
    generator_limited: bool = False  # the load generator passed a bound while this was measured
    note: str = ""  # a caveat on the measured figure (the result stands), e.g. generator limits


class GeneratorHealth(_Model):
    """The load generator's own health over a span: how late its event loop woke, how busy it was."""

    lag_max_ms: float  # the latest wake-up of the event loop
    lag_p95_ms: float  # 95th percentile of the per-bucket worst lag
    lag_mean_ms: float
    cpu_max_percent: float  # highest 1 s average of process CPU, % of one core
    limited: bool  # lag or CPU passed its bound: latencies measured then are partly the generator's


class GeneratorSummary(_Model):
    """The load generator's health over the whole drill, its bounds, and each load process."""

    lag_limit_ms: float
    cpu_limit_percent: float
    drill: GeneratorHealth | None  # the processes that time requests, over the drill
    processes: dict[str, GeneratorHealth] = Field(default_factory=dict)  # each process, over the drill
    limited_phases: list[str] = Field(default_factory=list)  # phases where a bound was passed


class ErrorCount(_Model):
    """How many errors were of one kind, e.g. ``http 503``, ``ReadTimeout``, ``failure: ...``."""

    kind: str  # see docs/report-json.md, "Error kinds"; "other": the kinds beyond the top
    count: int


class EndpointSummary(_Model):
    """Figures for one endpoint (Locust request name) within one phase."""

    requests: int
    rps: float
    outcome_counts: dict[Outcome, int]
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    errors: list[ErrorCount] = Field(default_factory=list)  # top error kinds, then "other"


class PhaseSummary(_Model):
    """Figures for one phase (all endpoints together, and per endpoint)."""

    name: str
    start_s: float
    end_s: float
    faults: list[str] = Field(default_factory=list)  # fault script names active in the phase
    requests: int
    rps: float
    outcome_counts: dict[Outcome, int]
    error_ratio: float
    fallback_ratio: float
    degraded_ratio: float
    shed_ratio: float
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    p99_corrected_ms: float | None = None  # coordinated-omission corrected (open model only)
    endpoints: dict[str, EndpointSummary] = Field(default_factory=dict)
    generator: GeneratorHealth | None = None  # the load generator's health during the phase
    errors: list[ErrorCount] = Field(default_factory=list)  # top error kinds, all endpoints


class FaultWindowRecord(_Model):
    """A fault as it really happened: when it was applied and reverted."""

    fault: str  # fault name within its script
    script: str  # fault script name
    proxy: str
    type: str  # latency, down, timeout, ...
    planned_start_s: float
    planned_end_s: float
    applied_s: float | None
    reverted_s: float | None


class TimelineEvent(_Model):
    """One entry of the drill's journal, shown on the report's timeline."""

    t_s: float
    kind: EventKind
    message: str
    data: dict[str, Any] = Field(default_factory=dict)


class EndpointSeries(_Model):
    """Per-bucket figures of one endpoint; lists are aligned on the drill's ``TimeSeries.t_s``."""

    rps: list[float]
    p95_ms: list[float | None]  # null: no request of the endpoint completed in the bucket
    error_ratio: list[float | None]  # null: no request of the endpoint in the bucket


class TimeSeries(_Model):
    """Per-bucket figures over the whole drill, all endpoints together; lists are aligned on ``t_s``."""

    bucket_s: float
    t_s: list[float]
    rps: list[float]
    p50_ms: list[float | None]
    p95_ms: list[float | None]
    p99_ms: list[float | None]
    error_ratio: list[float]
    fallback_ratio: list[float]
    shed_ratio: list[float]
    generator_lag_ms: list[float | None] = Field(default_factory=list)  # worst loop lag per bucket
    generator_cpu_percent: list[float | None] = Field(default_factory=list)  # highest CPU per bucket
    load_level: list[float | None] = Field(
        default_factory=list
    )  # the level the shape set per bucket: users (closed model) or arrivals/s (open model)
    users: list[int | None] = Field(default_factory=list)  # users running at each bucket's start
    endpoints: dict[str, EndpointSeries] = Field(
        default_factory=dict
    )  # the busiest endpoints (at most 12), each its own figures per bucket


class ResilienceTiming(_Model):
    """Failover and recovery measured for one fault window.

    None: never reached within the drill, or no data (``*_no_data`` says why).
    """

    fault: str
    fault_start_s: float
    fault_end_s: float | None
    failover_s: float | None  # fault start -> success ratio back above threshold
    recovery_s: float | None  # fault end -> latency and errors back to the baseline phase
    failover_no_data: str | None = None  # why failover_s is null when it is not "never"
    recovery_no_data: str | None = None  # why recovery_s is null when it is not "never"
    failover_checked: bool = False  # a failover_time check of the drill times this fault
    recovery_checked: bool = False  # a recovery_time check of the drill times this fault


class WriteRuleSeen(_Model):
    """What one write rule (``writes:`` in the drill) found in the load."""

    endpoint: str  # the rule's endpoint (Locust request name)
    requests: int  # requests to it in the drill
    acknowledged: int
    indeterminate: int
    not_acknowledged: list[str] = Field(
        default_factory=list
    )  # the first answer of each kind it did not take as an acknowledgement, and why


class WritesSummary(_Model):
    """Writes seen in the load (acknowledged, indeterminate) and what the read-back found."""

    acknowledged: int
    verified: int
    lost: list[str] = Field(default_factory=list)  # ids acknowledged but not found after the drill
    unverifiable: list[str] = Field(
        default_factory=list
    )  # read-back failed for infrastructure reasons
    indeterminate: int = 0  # sent, but the answer was lost (timeout, reset, 5xx)
    indeterminate_answers: dict[str, int] = Field(
        default_factory=dict
    )  # what the client saw of them, e.g. {"no answer: timeout": 4, "answered 500": 1}
    indeterminate_known_id: int = 0  # of them, with an id known from the request: read back
    indeterminate_found: list[str] = Field(
        default_factory=list
    )  # read back and present: created although the client saw an error
    rules: list[WriteRuleSeen] = Field(default_factory=list)  # per write rule of the drill


class LoadSummary(_Model):
    """How the load was generated, and for the open model, intended versus achieved."""

    model: str  # "closed" or "open"
    shape: str
    scenario: str
    workers: int = 1
    intended_rps: float | None = None
    achieved_rps: float | None = None
    dropped_arrivals: int | None = None  # open model: arrivals that could not be sent
    notes: list[str] = Field(default_factory=list)  # how to read the figures (e.g. closed model)


class ServerSample(_Model):
    """One scrape of the target's Prometheus /metrics: selected series at one time."""

    t_s: float
    values: dict[str, float]


class RunReport(_Model):
    """Everything a drill concluded; the content of report.json."""

    schema_version: int = SCHEMA_VERSION
    run_id: str
    drill: str
    description: str = ""
    drill_file: str | None = None
    target_url: str
    toxiproxy_url: str | None
    started_at: str  # ISO 8601, UTC
    duration_s: float
    verdict: Verdict
    verdict_reason: str
    checks: list[CheckResult]
    phases: list[PhaseSummary]
    faults: list[FaultWindowRecord]
    timings: list[ResilienceTiming] = Field(default_factory=list)
    writes: WritesSummary | None = None
    load: LoadSummary
    series: TimeSeries
    events: list[TimelineEvent]
    server_samples: list[ServerSample] = Field(default_factory=list)
    lanes: list[str] = Field(default_factory=list)  # the drill's target.lanes
    generator: GeneratorSummary | None = None  # the load generator's own health; None: not recorded
    sustainable_peak: float | None = None  # capacity search: highest load level whose checks held
