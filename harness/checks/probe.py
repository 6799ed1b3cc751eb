"""The ``probe`` check: the share of a probe's runs that passed, per phase or window.

Probes (``probes:`` in a drill, harness.drill.probes) run beside the load and are
recorded in raw/probes.jsonl; a run belongs to the bucket of its start time.
A breach names how many runs failed and what the first failing one saw.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from harness.checks.base import Bound, CheckBase, CheckContext, CheckError, fmt, window_buckets
from harness.metrics.store import sliding_windows
from harness.results.model import CheckResult
from harness.results.raw import ProbeRun


class ProbeCheck(CheckBase):
    """Runs of probe ``probe`` that passed / its runs stays at or above ``min_ratio``."""

    type: Literal["probe"] = "probe"
    probe: str = Field(description="The name of a probe under the drill's probes:")
    min_ratio: float = Field(default=1.0, ge=0, le=1, description="Share of runs that must pass")
    window_s: float | None = Field(default=None, gt=0)

    unit: ClassVar[str] = "ratio"

    def describe(self) -> str:
        return f"probe '{self.probe}' pass ratio ≥ {fmt(self.min_ratio, self.unit)}"

    def evaluate(self, ctx: CheckContext) -> CheckResult:
        bound = Bound(">=", self.min_ratio)
        try:
            scope = self.scope(ctx)
            k = window_buckets(self.window_s, ctx.bucket_s) if self.window_s else None
        except CheckError as exc:
            return self.result(bound, None, False, str(exc), window_s=self.window_s)
        by_bucket: dict[int, list[ProbeRun]] = {}
        for run in ctx.probe_runs:
            if run.probe == self.probe:
                by_bucket.setdefault(int(run.t_s // ctx.bucket_s), []).append(run)
        spans = sliding_windows(scope.b0, scope.b1, k) if k else [(scope.b0, scope.b1)]
        judged = []
        for w0, w1 in spans:
            runs = [r for b in range(w0, w1) for r in by_bucket.get(b, [])]
            if runs:
                judged.append((sum(r.passed for r in runs) / len(runs), w0, runs))
        if not judged:
            detail = f"no data: probe '{self.probe}' did not run in {scope.label}"
            return self.result(bound, None, False, detail, window_s=self.window_s)
        ratio, w0, runs = min(judged, key=lambda j: j[0])
        return self._judged(ctx, bound, ratio, w0, runs, scope.label)

    def _judged(
        self, ctx: CheckContext, bound: Bound, ratio: float, w0: int, runs: list[ProbeRun],
        label: str,
    ) -> CheckResult:
        passed = bound.holds(ratio)
        where = f"in {label}"
        extra: dict = {"window_s": self.window_s}
        if self.window_s:
            extra["worst_window_start_s"] = start_s = round(w0 * ctx.bucket_s, 9)
            where = f"in the worst {self.window_s:g} s window (from {start_s:g} s) of {label}"
        ok = sum(r.passed for r in runs)
        detail = (
            f"probe '{self.probe}' passed {ok} of {len(runs)} runs ({fmt(ratio, self.unit)}) "
            f"{where}, {'within' if passed else 'breaching'} {bound.symbol} "
            f"{fmt(self.min_ratio, self.unit)}"
        )
        failed = next((r for r in sorted(runs, key=lambda r: r.t_s) if not r.passed), None)
        if failed is not None:
            detail += f"; first failure at {failed.t_s:.2f} s: {failed.detail}"
        return self.result(bound, ratio, passed, detail, **extra)
