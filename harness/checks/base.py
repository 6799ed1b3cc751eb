"""What every SLA check shares: the context it reads, its config base, scope and windows.

A check is a pydantic config (``extra="forbid"``, a ``type`` literal, units in
field names) with ``evaluate(ctx) -> CheckResult``. A breach is a result, never
an exception; so is missing data (``measured=None``, failed, detail says why).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from harness.checks.timing import Baseline, TimingParams, baseline_of, resilience_timings
from harness.checks.timing import window_buckets as _window_buckets
from harness.figures import quantity
from harness.metrics.generator import GeneratorStore
from harness.metrics.histogram import Latency
from harness.metrics.store import MetricStore, sliding_windows
from harness.metrics.summary import PhaseSpan
from harness.results.model import CheckResult, FaultWindowRecord, ResilienceTiming, WritesSummary
from harness.results.raw import ProbeRun


@dataclass
class CheckContext:
    """Everything a check may read. ``phases`` items are PhaseSpan or (name, start_s, end_s)."""

    store: MetricStore
    bucket_s: float
    phases: list[PhaseSpan | tuple[str, float, float]]
    baseline_phase: str | None = None
    faults: list[FaultWindowRecord] = field(default_factory=list)
    writes: WritesSummary | None = None
    timing_params: TimingParams = field(default_factory=TimingParams)
    generator: GeneratorStore | None = None  # the load generator's own health (latency caveats)
    probe_runs: list[ProbeRun] = field(default_factory=list)  # raw/probes.jsonl

    def __post_init__(self) -> None:
        self.phases = [p if isinstance(p, PhaseSpan) else PhaseSpan(*p) for p in self.phases]

    def phase(self, name: str) -> PhaseSpan | None:
        """The phase called ``name``, or None."""
        return next((p for p in self.phases if p.name == name), None)

    @property
    def duration_s(self) -> float:
        """End of the drill: the last phase's end, else the end of the last bucket with data."""
        ends = [p.end_s for p in self.phases]
        return max(ends) if ends else self.store.end_bucket * self.store.bucket_s

    def baseline(self, name: str | None = None, endpoints=None) -> Baseline | None:
        """Baseline p95 and error ratio of phase ``name`` (default: ``baseline_phase``)."""
        phase = self.phase(name or self.baseline_phase or "")
        if phase is None:
            return None
        return baseline_of(self.store, phase.start_s, phase.end_s, endpoints)

    @cached_property
    def timings(self) -> list[ResilienceTiming]:
        """Failover/recovery per applied fault with ``timing_params`` (computed once)."""
        return resilience_timings(
            self.store,
            self.faults,
            duration_s=self.duration_s,
            baseline=self.baseline(endpoints=self.timing_params.endpoints),
            params=self.timing_params,
        )

    @cached_property
    def scratch(self) -> Latency:
        """One reusable histogram for window queries (allocating one costs ~0.2 ms)."""
        return Latency()


@dataclass(frozen=True)
class Scope:
    """Where a check looks: a bucket range and a label for messages."""

    b0: int
    b1: int
    label: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Bound:
    """One side of a threshold: passed when ``measured comparator threshold``."""

    comparator: str  # "<=" or ">="
    threshold: float

    def holds(self, value: float) -> bool:
        return value <= self.threshold if self.comparator == "<=" else value >= self.threshold

    def worst(self, values: Sequence[float]) -> float:
        return max(values) if self.comparator == "<=" else min(values)

    @property
    def symbol(self) -> str:
        return "≤" if self.comparator == "<=" else "≥"


class CheckError(Exception):
    """Internal: a check cannot be judged; becomes a failed result with this detail."""


def fmt(value: float | None, unit: str) -> str:
    """A value with its unit for messages: three significant digits, ratios as percentages."""
    return "n/a" if value is None else quantity(value, unit)


class CheckBase(BaseModel):
    """Fields and helpers common to every check type."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = None
    phase: str | None = None  # None: the whole drill

    unit: ClassVar[str] = ""
    window_in_name: ClassVar[bool] = True  # derived names say "per N s window"

    def describe(self) -> str:
        """What is required, e.g. ``p95 latency ≤ 3000 ms``."""
        raise NotImplementedError

    def scope_parts(self) -> list[str]:
        return [self.phase or "drill"]

    @property
    def display_name(self) -> str:
        """The given name, or one derived from the requirement and the scope."""
        if self.name:
            return self.name
        window = getattr(self, "window_s", None) if self.window_in_name else None
        per = f" per {window:g} s window" if window else ""
        return f"{self.describe()}{per} [{'/'.join(self.scope_parts())}]"

    def evaluate(self, ctx: CheckContext) -> CheckResult:
        raise NotImplementedError

    def result(
        self, bound: Bound, measured: float | None, passed: bool, detail: str, **extra
    ) -> CheckResult:
        """A CheckResult for this check."""
        return CheckResult(
            name=self.display_name,
            type=self.type,
            phase=self.phase,  # type: ignore[attr-defined]
            comparator=bound.comparator,
            threshold=bound.threshold,
            measured=measured,
            unit=self.unit,
            passed=passed,
            detail=detail,
            **extra,
        )

    def scope(self, ctx: CheckContext) -> Scope:
        """The bucket range this check looks at; CheckError when the phase is unknown."""
        if self.phase is None:
            start_s, end_s = 0.0, ctx.duration_s
        else:
            phase = ctx.phase(self.phase)
            if phase is None:
                known = ", ".join(p.name for p in ctx.phases) or "none"
                raise CheckError(
                    f"phase '{self.phase}' is not in the drill (known: {known}) - fix 'phase:'"
                )
            start_s, end_s = phase.start_s, phase.end_s
        b0, b1 = ctx.store.bucket_range(start_s, end_s)
        label = f"phase '{self.phase}'" if self.phase else "the drill"
        return Scope(b0, b1, label, start_s, end_s)


def window_buckets(window_s: float, bucket_s: float) -> int:
    """``window_s`` in buckets; CheckError when it is not a whole multiple of ``bucket_s``."""
    k = _window_buckets(window_s, bucket_s)
    if k is None:
        raise CheckError(
            f"window_s {window_s:g} is not a whole multiple of the bucket ({bucket_s:g} s) - "
            f"use a multiple of {bucket_s:g}"
        )
    return k


class WindowedCheck(CheckBase):
    """A check measuring one value per span (the scope, or each sliding window of it)."""

    endpoints: list[str] | None = None
    window_s: float | None = Field(default=None, gt=0)

    what: ClassVar[str] = "value"  # used in messages: "p95 latency", "error ratio"

    def bounds(self) -> list[Bound]:
        raise NotImplementedError

    def value(self, ctx: CheckContext, b0: int, b1: int) -> float | None:
        """The measured value over buckets ``[b0, b1)``; None when there is nothing to measure."""
        raise NotImplementedError

    def scope_parts(self) -> list[str]:
        parts = super().scope_parts()
        return parts + [",".join(self.endpoints)] if self.endpoints else parts

    def on_endpoints(self) -> str:
        return f" on {', '.join(self.endpoints)}" if self.endpoints else ""

    def unknown_endpoints(self, ctx: CheckContext) -> str:
        """When none of the check's endpoints was ever requested: which were (a typo shows)."""
        seen = [e for e in ctx.store.endpoints if not e.startswith("harness:")]
        if not self.endpoints or set(self.endpoints) & set(seen):
            return ""
        listed = ", ".join(sorted(seen)) or "none"
        return f"; no request of the whole run had that name (endpoints seen: {listed})"

    def evaluate(self, ctx: CheckContext) -> CheckResult:
        bound = self.bounds()[0]
        try:
            scope = self.scope(ctx)
            k = window_buckets(self.window_s, ctx.bucket_s) if self.window_s else None
        except CheckError as exc:
            return self.result(bound, None, False, str(exc), window_s=self.window_s)
        spans = sliding_windows(scope.b0, scope.b1, k) if k else [(scope.b0, scope.b1)]
        measured = [(w0, v) for w0, w1 in spans if (v := self.value(ctx, w0, w1)) is not None]
        if not measured:
            return self.result(
                bound,
                None,
                False,
                f"no data: no requests to measure {self.what}{self.on_endpoints()} "
                f"in {scope.label}{self.unknown_endpoints(ctx)}",
                window_s=self.window_s,
            )
        return self.judge(ctx, scope, measured)

    def judge(
        self, ctx: CheckContext, scope: Scope, measured: list[tuple[int, float]]
    ) -> CheckResult:
        """Pick the worst span per bound; report the first breached bound (else the first)."""
        verdicts = []
        for bound in self.bounds():
            worst = bound.worst([v for _, v in measured])
            start_b = next(w0 for w0, v in measured if v == worst)
            verdicts.append((bound, worst, start_b, bound.holds(worst)))
        bound, worst, start_b, passed = next((v for v in verdicts if not v[3]), verdicts[0])
        where = f"in {scope.label}{self.on_endpoints()}"
        extra: dict = {"window_s": self.window_s}
        if self.window_s:
            start_s = round(start_b * ctx.bucket_s, 9)
            extra["worst_window_start_s"] = start_s
            where = (
                f"in the worst {self.window_s:g} s window (from {start_s:g} s) of "
                f"{scope.label}{self.on_endpoints()}"
            )
        verb = "within" if passed else "breaching"
        detail = (
            f"{self.what} was {fmt(worst, self.unit)} {where}, {verb} "
            f"{bound.symbol} {fmt(bound.threshold, self.unit)}"
        )
        return self.result(bound, worst, passed, detail, **extra)
