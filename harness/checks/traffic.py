"""Checks on traffic figures: latency, error rate, availability, throughput, fallback, shedding."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from harness.checks.base import Bound, CheckContext, CheckError, Scope, WindowedCheck, fmt
from harness.metrics.store import NON_SHED, SUCCESS
from harness.results.model import CheckResult, Outcome


class LatencyCheck(WindowedCheck):
    """A latency percentile (all outcomes but shed, by default) stays at or under ``max_ms``."""

    type: Literal["latency"] = "latency"
    percentile: float = Field(gt=0, le=100)
    max_ms: float = Field(gt=0)
    corrected: bool = False  # use the coordinated-omission corrected histogram
    outcomes: list[Outcome] = Field(default_factory=lambda: sorted(NON_SHED), min_length=1)

    unit: ClassVar[str] = "ms"

    @property
    def what(self) -> str:  # type: ignore[override]
        return f"p{self.percentile:g} latency" + (" (corrected)" if self.corrected else "")

    def describe(self) -> str:
        return f"{self.what} ≤ {self.max_ms:g} ms"

    def bounds(self) -> list[Bound]:
        return [Bound("<=", self.max_ms)]

    def value(self, ctx: CheckContext, b0: int, b1: int) -> float | None:
        latency = ctx.store.latency(
            b0, b1, self.endpoints, set(self.outcomes), self.corrected, into=ctx.scratch
        )
        return latency.percentile_ms(self.percentile)

    def evaluate(self, ctx: CheckContext) -> CheckResult:
        """Judged on its figure; flagged when the load generator passed a bound in its scope."""
        result = super().evaluate(ctx)
        if ctx.generator is None:
            return result
        try:
            scope = self.scope(ctx)
        except CheckError:
            return result
        note = ctx.generator.note(scope.b0, scope.b1, scope.label)
        if note is None:
            return result
        return result.model_copy(update={"generator_limited": True, "note": note})


class _RatioCheck(WindowedCheck):
    """A share of requests: ``numerator outcomes / denominator outcomes`` per span."""

    unit: ClassVar[str] = "ratio"
    numerator: ClassVar[frozenset[Outcome]]
    denominator: ClassVar[frozenset[Outcome] | None] = None  # None: every outcome

    def value(self, ctx: CheckContext, b0: int, b1: int) -> float | None:
        counts = ctx.store.counts(b0, b1, self.endpoints)
        whole = sum(
            n for o, n in counts.items() if self.denominator is None or o in self.denominator
        )
        if not whole:
            return None
        return sum(counts[o] for o in self.numerator) / whole


class ErrorRateCheck(_RatioCheck):
    """error / every request (shed included) stays at or under ``max_ratio``."""

    type: Literal["error_rate"] = "error_rate"
    max_ratio: float = Field(ge=0, le=1)

    what: ClassVar[str] = "error ratio"
    numerator: ClassVar[frozenset[Outcome]] = frozenset({Outcome.ERROR})

    def describe(self) -> str:
        return f"error ratio ≤ {self.max_ratio:g}"

    def bounds(self) -> list[Bound]:
        return [Bound("<=", self.max_ratio)]


class AvailabilityCheck(_RatioCheck):
    """(ok + fallback + degraded) / every request but shed stays at or over ``min_ratio``."""

    type: Literal["availability"] = "availability"
    min_ratio: float = Field(ge=0, le=1)

    what: ClassVar[str] = "availability"
    numerator: ClassVar[frozenset[Outcome]] = SUCCESS
    denominator: ClassVar[frozenset[Outcome] | None] = NON_SHED

    def describe(self) -> str:
        return f"availability ≥ {self.min_ratio:g}"

    def bounds(self) -> list[Bound]:
        return [Bound(">=", self.min_ratio)]


class ThroughputCheck(WindowedCheck):
    """Requests per second that did not end in error (shed included) stay at or over ``min_rps``."""

    type: Literal["throughput"] = "throughput"
    min_rps: float = Field(ge=0)

    unit: ClassVar[str] = "rps"
    what: ClassVar[str] = "throughput"

    def describe(self) -> str:
        return f"throughput ≥ {self.min_rps:g} rps"

    def bounds(self) -> list[Bound]:
        return [Bound(">=", self.min_rps)]

    def value(self, ctx: CheckContext, b0: int, b1: int) -> float | None:
        counts = ctx.store.counts(b0, b1, self.endpoints)
        return (sum(counts.values()) - counts[Outcome.ERROR]) / ((b1 - b0) * ctx.bucket_s)

    def evaluate(self, ctx: CheckContext) -> CheckResult:
        # an empty window is 0 rps, but a scope without any request is "no data"
        try:
            scope = self.scope(ctx)
        except CheckError:  # the base class reports it
            return super().evaluate(ctx)
        if not sum(ctx.store.counts(scope.b0, scope.b1, self.endpoints).values()):
            return self.result(
                self.bounds()[0],
                None,
                False,
                f"no data: no requests{self.on_endpoints()} in {scope.label}",
                window_s=self.window_s,
            )
        return super().evaluate(ctx)


class _BoundedRatioCheck(_RatioCheck):
    """A ratio with ``min_ratio`` and/or ``max_ratio``."""

    min_ratio: float | None = Field(default=None, ge=0, le=1)
    max_ratio: float | None = Field(default=None, ge=0, le=1)

    def bounds(self) -> list[Bound]:
        out = []
        if self.min_ratio is not None:
            out.append(Bound(">=", self.min_ratio))
        if self.max_ratio is not None:
            out.append(Bound("<=", self.max_ratio))
        return out

    def describe(self) -> str:
        if self.min_ratio is not None and self.max_ratio is not None:
            return f"{self.what} in [{self.min_ratio:g}, {self.max_ratio:g}]"
        bound = self.bounds()[0] if self.bounds() else None
        return f"{self.what} {bound.symbol} {bound.threshold:g}" if bound else self.what


class FallbackRatioCheck(_BoundedRatioCheck):
    """fallback / every request (shed included) within ``min_ratio`` and/or ``max_ratio``."""

    type: Literal["fallback_ratio"] = "fallback_ratio"

    what: ClassVar[str] = "fallback ratio"
    numerator: ClassVar[frozenset[Outcome]] = frozenset({Outcome.FALLBACK})

    @model_validator(mode="after")
    def _one_bound(self) -> FallbackRatioCheck:
        if self.min_ratio is None and self.max_ratio is None:
            raise ValueError("fallback_ratio needs min_ratio and/or max_ratio")
        return self


class ShedRatioCheck(_BoundedRatioCheck):
    """shed / every request within bounds; ``require_retry_after``: every 429 had Retry-After."""

    type: Literal["shed_ratio"] = "shed_ratio"
    require_retry_after: bool = False

    what: ClassVar[str] = "shed ratio"
    numerator: ClassVar[frozenset[Outcome]] = frozenset({Outcome.SHED})

    @model_validator(mode="after")
    def _one_requirement(self) -> ShedRatioCheck:
        if self.min_ratio is None and self.max_ratio is None and not self.require_retry_after:
            raise ValueError("shed_ratio needs min_ratio, max_ratio or require_retry_after: true")
        return self

    def describe(self) -> str:
        if not self.bounds():
            return "shed responses carry Retry-After"
        suffix = " with Retry-After" if self.require_retry_after else ""
        return super().describe() + suffix

    def evaluate(self, ctx: CheckContext) -> CheckResult:
        if not self.bounds():
            return self._retry_after_only(ctx)
        result = super().evaluate(ctx)
        if not self.require_retry_after or not result.passed:
            return result
        missing = self._missing(ctx)
        if not missing:
            return result
        return result.model_copy(
            update={
                "passed": False,
                "detail": f"{result.detail}; but {missing} shed response(s) lacked Retry-After",
            }
        )

    def _missing(self, ctx: CheckContext) -> int:
        scope = self.scope(ctx)
        return ctx.store.retry_after_missing(scope.b0, scope.b1, self.endpoints)

    def _retry_after_only(self, ctx: CheckContext) -> CheckResult:
        bound = Bound("<=", 0)
        try:
            scope: Scope = self.scope(ctx)
        except CheckError as exc:
            return self.result(bound, None, False, str(exc)).model_copy(update={"unit": "count"})
        shed = ctx.store.counts(scope.b0, scope.b1, self.endpoints)[Outcome.SHED]
        missing = ctx.store.retry_after_missing(scope.b0, scope.b1, self.endpoints)
        detail = (
            f"{missing} of {shed} shed response(s){self.on_endpoints()} in {scope.label} "
            f"lacked Retry-After"
        )
        if not shed:
            return self.result(
                bound,
                None,
                False,
                f"no data: nothing was shed{self.on_endpoints()} in {scope.label}",
            ).model_copy(update={"unit": "count"})
        return self.result(bound, float(missing), missing == 0, detail).model_copy(
            update={"unit": "count"}
        )


__all__ = [
    "AvailabilityCheck",
    "ErrorRateCheck",
    "FallbackRatioCheck",
    "LatencyCheck",
    "ShedRatioCheck",
    "ThroughputCheck",
    "fmt",
]
