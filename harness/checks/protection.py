"""``core_protected``: while non-core endpoints are shed, core endpoints keep their SLA."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from harness.checks.base import (
    Bound,
    CheckBase,
    CheckContext,
    CheckError,
    fmt,
    window_buckets,
)
from harness.metrics.store import NON_SHED, SUCCESS, sliding_windows
from harness.results.model import CheckResult, Outcome


class CoreProtectedCheck(CheckBase):
    """In every span where shed ratio on ``noncore_endpoints`` > ``min_noncore_shed_ratio``,
    ``core_endpoints`` keep availability ≥ ``min_availability`` and p95 ≤ ``max_p95_ms``.

    A scope where non-core endpoints were never shed that much has nothing to judge
    and fails as "no data" (the drill did not create the condition it meant to test).
    """

    type: Literal["core_protected"] = "core_protected"
    core_endpoints: list[str] = Field(min_length=1)
    noncore_endpoints: list[str] = Field(min_length=1)
    min_noncore_shed_ratio: float = Field(default=0.0, ge=0, lt=1)
    min_availability: float = Field(default=0.99, ge=0, le=1)
    max_p95_ms: float = Field(gt=0)
    window_s: float | None = Field(default=None, gt=0)

    unit: ClassVar[str] = "ratio"

    def describe(self) -> str:
        return (
            f"core {','.join(self.core_endpoints)} availability ≥ {self.min_availability:g} "
            f"and p95 ≤ {self.max_p95_ms:g} ms while non-core shed"
        )

    def _measure(self, ctx: CheckContext, b0: int, b1: int) -> tuple[float, float | None] | None:
        """(core availability, core p95 ms) over a shedding span; None if not shedding."""
        store = ctx.store
        noncore = store.counts(b0, b1, self.noncore_endpoints)
        total = sum(noncore.values())
        if not total or noncore[Outcome.SHED] / total <= self.min_noncore_shed_ratio:
            return None
        core = store.counts(b0, b1, self.core_endpoints)
        served = sum(core[o] for o in NON_SHED)
        availability = sum(core[o] for o in SUCCESS) / served if served else 0.0
        p95 = store.latency(b0, b1, self.core_endpoints, into=ctx.scratch).percentile_ms(95.0)
        return availability, p95

    def evaluate(self, ctx: CheckContext) -> CheckResult:
        avail_bound, p95_bound = Bound(">=", self.min_availability), Bound("<=", self.max_p95_ms)
        try:
            scope = self.scope(ctx)
            k = window_buckets(self.window_s, ctx.bucket_s) if self.window_s else None
        except CheckError as exc:
            return self.result(avail_bound, None, False, str(exc), window_s=self.window_s)
        spans = sliding_windows(scope.b0, scope.b1, k) if k else [(scope.b0, scope.b1)]
        shedding = [(w0, m) for w0, w1 in spans if (m := self._measure(ctx, w0, w1))]
        if not shedding:
            return self.result(
                avail_bound,
                None,
                False,
                f"no data: non-core {', '.join(self.noncore_endpoints)} were never shed above "
                f"{self.min_noncore_shed_ratio:g} in {scope.label}, so core protection was "
                "not exercised",
                window_s=self.window_s,
            )
        worst_avail = min(shedding, key=lambda s: s[1][0])
        worst_p95 = max(shedding, key=lambda s: s[1][1] or 0.0)
        extra: dict = {"window_s": self.window_s}
        p95 = worst_p95[1][1]
        if p95 is not None and not p95_bound.holds(p95) and avail_bound.holds(worst_avail[1][0]):
            bound, measured, start_b, what = p95_bound, p95, worst_p95[0], "ms"
        else:
            bound, measured, start_b, what = avail_bound, worst_avail[1][0], worst_avail[0], "ratio"
        passed = avail_bound.holds(worst_avail[1][0]) and (p95 is None or p95_bound.holds(p95))
        if self.window_s:
            extra["worst_window_start_s"] = round(start_b * ctx.bucket_s, 9)
        detail = (
            f"while non-core was shed in {len(shedding)} span(s) of {scope.label}, core "
            f"{', '.join(self.core_endpoints)} had worst availability "
            f"{fmt(worst_avail[1][0], 'ratio')} (need ≥ {self.min_availability:g}) and "
            f"worst p95 {fmt(p95, 'ms')} (need ≤ {self.max_p95_ms:g} ms)"
        )
        return self.result(bound, measured, passed, detail, **extra).model_copy(
            update={"unit": what}
        )
