"""Timing checks (failover, recovery) and the lost-writes check."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar, Literal

from pydantic import Field

from harness.checks.base import Bound, CheckBase, CheckContext, CheckError, fmt
from harness.checks.timing import (
    Settled,
    TimingParams,
    fault_failover,
    fault_recovery,
    window_buckets,
)
from harness.figures import quantity
from harness.results.model import CheckResult, FaultWindowRecord, ResilienceTiming, WritesSummary
from harness.results.raw import DROPPED_ENDPOINT


class _TimingCheck(CheckBase):
    """Shared: which fault, which endpoints, the window and the limit in seconds."""

    fault: str | None = None  # fault script name (or fault name); None: first fault of the scope
    endpoints: list[str] | None = None
    window_s: float = Field(default=1.0, gt=0)
    hold_s: float | None = Field(default=None, gt=0)
    max_s: float = Field(ge=0)

    unit: ClassVar[str] = "s"
    window_in_name: ClassVar[bool] = False

    def scope_parts(self) -> list[str]:
        parts = super().scope_parts()
        if self.fault:
            parts.append(self.fault)
        return parts + [",".join(self.endpoints)] if self.endpoints else parts

    def pick_fault(self, ctx: CheckContext) -> FaultWindowRecord:
        """The fault this check times; CheckError when there is none to time."""
        scope = self.scope(ctx)  # an unknown phase is reported even when the fault is named
        if self.fault is not None:
            found = [f for f in ctx.faults if self.fault in (f.script, f.fault)]
            if not found:
                known = ", ".join(sorted({f.script for f in ctx.faults})) or "none"
                raise CheckError(
                    f"fault '{self.fault}' did not run in the drill (known: {known}) - fix 'fault:'"
                )
        else:
            found = [
                f
                for f in ctx.faults
                if scope.start_s
                <= (f.applied_s if f.applied_s is not None else f.planned_start_s)
                < scope.end_s
            ]
            if not found:
                raise CheckError(f"no data: no fault ran in {scope.label} - name one with 'fault:'")
        fault = min(found, key=lambda f: f.planned_start_s)
        if fault.applied_s is None:
            raise CheckError(f"no data: fault '{fault.fault}' was never applied")
        if window_buckets(self.window_s, ctx.bucket_s) is None:
            raise CheckError(
                f"window_s {self.window_s:g} is not a whole multiple of the bucket "
                f"({ctx.bucket_s:g} s)"
            )
        return fault

    def time_it(self, ctx: CheckContext, fault: FaultWindowRecord) -> tuple[Settled, str]:
        """The time (or why there is none) and a sentence saying what was timed."""
        raise NotImplementedError

    def evaluate(self, ctx: CheckContext) -> CheckResult:
        bound = Bound("<=", self.max_s)
        try:
            fault = self.pick_fault(ctx)
            settled, what = self.time_it(ctx, fault)
        except CheckError as exc:
            return self.result(bound, None, False, str(exc), window_s=self.window_s)
        measured = settled.s
        if measured is None:
            why = settled.no_data or "never reached"
            return self.result(bound, None, False, f"{what}: {why}", window_s=self.window_s)
        passed = bound.holds(measured)
        detail = (
            f"{what}: {fmt(measured, 's')}, {'within' if passed else 'breaching'} "
            f"≤ {self.max_s:g} s"
        )
        return self.result(bound, measured, passed, detail, window_s=self.window_s)


class FailoverTimeCheck(_TimingCheck):
    """Fault applied -> success ratio (over ``window_s``) back ≥ ``min_success_ratio`` for good.

    With ``max_latency_ms``, a success slower than that does not count (a black-holed
    dependency answers eventually, via the fallback, but only after the front's timeout).
    """

    type: Literal["failover_time"] = "failover_time"
    min_success_ratio: float = Field(default=0.95, gt=0, le=1)
    max_latency_ms: float | None = Field(default=None, gt=0)

    def describe(self) -> str:
        return f"failover ≤ {self.max_s:g} s"

    def time_it(self, ctx: CheckContext, fault: FaultWindowRecord) -> tuple[Settled, str]:
        until_s = fault.reverted_s if fault.reverted_s is not None else ctx.duration_s
        params = TimingParams(
            window_s=self.window_s,
            min_success_ratio=self.min_success_ratio,
            endpoints=self.endpoints,
            hold_s=self.hold_s,
            max_latency_ms=self.max_latency_ms,
        )
        value = fault_failover(ctx.store, fault, ctx.duration_s, params)
        fast = f" (≤ {self.max_latency_ms:g} ms)" if self.max_latency_ms is not None else ""
        what = (
            f"time from fault '{fault.fault}' applied at {quantity(fault.applied_s, 's')} until "
            f"the success{fast} ratio held ≥ {quantity(self.min_success_ratio, 'ratio')} over "
            f"{self.window_s:g} s windows"
            + (f" before {quantity(until_s, 's')}" if value.s is None else "")
        )
        return value, what


class RecoveryTimeCheck(_TimingCheck):
    """Fault reverted -> back to the baseline phase, for good (docs/checks.md, "What
    recovered means"): no significant excess of requests slower than their endpoint's
    baseline limit (max(``latency_tolerance`` x p95, p95 + ``latency_slack_ms``), 5 %
    expected), of errors (baseline + ``error_tolerance``) and, with ``fallback_tolerance``,
    of fallbacks (served normally again, not in fallback mode)."""

    type: Literal["recovery_time"] = "recovery_time"
    latency_tolerance: float = Field(default=1.5, ge=1)
    latency_slack_ms: float = Field(
        default=5.0,
        ge=0,
        description="a request is slow only above its endpoint's baseline p95 + this too",
    )
    error_tolerance: float = Field(default=0.01, ge=0, le=1)
    fallback_tolerance: float | None = Field(default=None, ge=0, le=1)
    min_requests: int = Field(
        default=10,
        ge=1,
        description="windows with fewer requests are no data (neither pass nor fail)",
    )
    baseline_phase: str | None = None  # default: the drill's baseline phase

    def describe(self) -> str:
        return f"recovery ≤ {self.max_s:g} s"

    def time_it(self, ctx: CheckContext, fault: FaultWindowRecord) -> tuple[Settled, str]:
        name = self.baseline_phase or ctx.baseline_phase
        if name is None:
            raise CheckError(
                "no data: the drill has no baseline phase to recover to - set 'baseline_phase:'"
            )
        baseline = ctx.baseline(name, self.endpoints)
        if baseline is None:
            raise CheckError(f"no data: baseline phase '{name}' is unknown or has no requests")
        if fault.reverted_s is None:
            raise CheckError(f"no data: fault '{fault.fault}' was never reverted")
        params = TimingParams(
            window_s=self.window_s,
            latency_tolerance=self.latency_tolerance,
            error_tolerance=self.error_tolerance,
            endpoints=self.endpoints,
            hold_s=self.hold_s,
            fallback_tolerance=self.fallback_tolerance,
            latency_slack_ms=self.latency_slack_ms,
            min_requests=self.min_requests,
        )
        value = fault_recovery(ctx.store, fault, ctx.duration_s, baseline, params)
        fallback = (
            f" and fallback ratio ≤ "
            f"{quantity(baseline.fallback_ratio + self.fallback_tolerance, 'ratio')}"
            if self.fallback_tolerance is not None
            else ""
        )
        what = (
            f"time from fault '{fault.fault}' reverted at {quantity(fault.reverted_s, 's')} until "
            f"no more "
            f"than 5 % of requests were slower than their endpoint's baseline p95 x "
            f"{self.latency_tolerance:g} (at least + {self.latency_slack_ms:g} ms) and error "
            f"ratio ≤ {quantity(baseline.error_ratio + self.error_tolerance, 'ratio')}{fallback} "
            f"(baseline '{name}', windows of ≥ {self.min_requests} requests) held"
        )
        return value, what


def report_timings(ctx: CheckContext, specs: Iterable[object]) -> list[ResilienceTiming]:
    """The report's timings: ``ctx.timings``, but measured like the drill's own checks.

    For each applied fault, the first ``failover_time`` (and ``recovery_time``) check
    of ``specs`` that times that fault supplies the failover (recovery) figure, with
    its window, hold, endpoints and criteria; a fault no such check times keeps the
    ``ctx.timing_params`` figure. A check that cannot be judged gives None, with its
    reason in ``*_no_data``; ``*_checked`` says a check of the drill timed the figure
    (the report headlines failover only then: a latency fault has none to speak of).
    """
    chosen: dict[tuple[str, str, float], dict[str, _TimingCheck]] = {}
    for spec in specs:
        if not isinstance(spec, FailoverTimeCheck | RecoveryTimeCheck):
            continue
        try:
            fault = spec.pick_fault(ctx)
        except CheckError:
            continue
        key = (fault.script, fault.fault, fault.planned_start_s)
        chosen.setdefault(key, {}).setdefault(spec.type, spec)
    applied = [f for f in ctx.faults if f.applied_s is not None]
    out = []
    for fault, timing in zip(applied, ctx.timings, strict=True):
        update: dict[str, float | str | bool | None] = {}
        for spec in chosen.get((fault.script, fault.fault, fault.planned_start_s), {}).values():
            kind = "failover" if isinstance(spec, FailoverTimeCheck) else "recovery"
            try:
                settled = spec.time_it(ctx, fault)[0]
            except CheckError as exc:
                settled = Settled(None, str(exc))
            update |= {
                f"{kind}_s": settled.s,
                f"{kind}_no_data": settled.no_data,
                f"{kind}_checked": True,
            }
        out.append(timing.model_copy(update=update) if update else timing)
    return out


class LostWritesCheck(CheckBase):
    """Acknowledged writes not found after the drill stay at or under ``max_count``.

    Lost means acknowledged and absent. Indeterminate writes (the answer was lost:
    timeout, reset, 5xx) are never lost; the detail counts them, and those read back
    (id from the request) and found were created although the client saw an error.
    No acknowledged write at all is "no data", with the reason per write rule.
    """

    type: Literal["lost_writes"] = "lost_writes"
    max_count: int = Field(default=0, ge=0)
    max_unverifiable: int = Field(
        default=0,
        ge=0,
        description="writes whose read-back failed (5xx, timeout) that are tolerated",
    )

    unit: ClassVar[str] = "count"

    def describe(self) -> str:
        return f"lost writes ≤ {self.max_count}"

    def evaluate(self, ctx: CheckContext) -> CheckResult:
        bound = Bound("<=", self.max_count)
        writes = ctx.writes
        if writes is None:
            return self.result(
                bound,
                None,
                False,
                "no data: no writes were tracked: the drill has no 'writes:' rule - add one "
                "naming the write's endpoint and where its id is (docs/drills.md)",
            )
        if writes.acknowledged == 0:
            why = "; ".join(untracked_reasons(writes, ctx.store.endpoints)) or "nothing seen"
            detail = f"no data: no writes were tracked: {why}"
            return self.result(bound, None, False, detail + _indeterminate_part(writes))
        lost = len(writes.lost)
        unverifiable = len(writes.unverifiable)
        passed = lost <= self.max_count and unverifiable <= self.max_unverifiable
        sample = f" (e.g. {', '.join(writes.lost[:3])})" if lost else ""
        detail = (
            f"{lost} of {writes.acknowledged} acknowledged write(s) were not found after the "
            f"drill{sample}; {unverifiable} could not be checked"
        )
        if unverifiable > self.max_unverifiable:
            detail += (
                f" - more than the {self.max_unverifiable} allowed: a write that cannot be read"
                " back is not known to be kept"
            )
        return self.result(bound, float(lost), passed, detail + _indeterminate_part(writes))


def untracked_reasons(writes: WritesSummary, endpoints_seen: list[str]) -> list[str]:
    """Why each write rule tracked no acknowledged write, one sentence per such rule."""
    reasons = []
    requested = [e for e in endpoints_seen if e != DROPPED_ENDPOINT]
    for rule in writes.rules:
        if rule.acknowledged:
            continue
        if rule.requests == 0 and rule.endpoint not in requested:
            reasons.append(
                f"rule '{rule.endpoint}': that endpoint was never requested (requested: "
                f"{', '.join(requested) or 'none'}) - fix 'endpoint:' to the Locust request name"
            )
        elif rule.not_acknowledged:
            reasons.append(
                f"rule '{rule.endpoint}' took none of its {rule.requests} request(s) as an "
                f"acknowledged write; answers seen: {'; '.join(rule.not_acknowledged)}"
            )
        elif rule.indeterminate:
            reasons.append(
                f"rule '{rule.endpoint}': every answer was lost ({rule.indeterminate} "
                "indeterminate)"
            )
        else:
            reasons.append(f"rule '{rule.endpoint}' saw none of its {rule.requests} request(s)")
    return reasons


def _indeterminate_part(writes: WritesSummary) -> str:
    """``; 7 indeterminate (...), 7 read back: 5 created although the client saw an error``."""
    if not writes.indeterminate:
        return ""
    answers = ", ".join(f"{n} {seen}" for seen, n in writes.indeterminate_answers.items())
    text = f"; {writes.indeterminate} indeterminate (sent, answer lost: {answers})"
    if writes.indeterminate_known_id:
        found = len(writes.indeterminate_found)
        text += (
            f", {writes.indeterminate_known_id} read back by the id in the request: {found} "
            "of them found, created although the client saw an error"
        )
    else:
        text += ", their ids unknown (id_from_request would read them back)"
    return text
