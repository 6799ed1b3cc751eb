"""The ``apdex`` check: the Apdex score of the requests, at or above ``min_score``.

Apdex (apdex.org) with target time T = ``target_ms``: a successful request (ok,
fallback, degraded) answered within T is satisfied, within 4 T tolerating, slower
is frustrated; an error is frustrated. Shed requests are left out (they are
judged by ``shed_ratio``). Score = (satisfied + tolerating / 2) / requests.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from harness.checks import CheckContext
from harness.checks.base import Bound, WindowedCheck
from harness.results.model import Outcome

SUCCESS = (Outcome.OK, Outcome.FALLBACK, Outcome.DEGRADED)


class ApdexCheck(WindowedCheck):
    """The Apdex score for ``target_ms`` stays at or above ``min_score``."""

    type: Literal["apdex"] = "apdex"
    target_ms: float = Field(gt=0, description="T: answered within it is 'satisfied'")
    min_score: float = Field(ge=0, le=1, description="Lowest acceptable score, 0..1")

    unit: ClassVar[str] = "ratio"
    example: ClassVar[dict] = {"target_ms": 500, "min_score": 0.9}

    @property
    def what(self) -> str:  # type: ignore[override]
        return f"apdex({self.target_ms:g} ms)"

    def describe(self) -> str:
        return f"{self.what} ≥ {self.min_score:g}"

    def bounds(self) -> list[Bound]:
        return [Bound(">=", self.min_score)]

    def value(self, ctx: CheckContext, b0: int, b1: int) -> float | None:
        counts = ctx.store.counts(b0, b1, self.endpoints)
        answered = sum(counts[o] for o in SUCCESS)
        total = answered + counts[Outcome.ERROR]
        if not total:
            return None
        if not answered:
            return 0.0
        latency = ctx.store.latency(b0, b1, self.endpoints, SUCCESS, into=ctx.scratch)
        satisfied = answered * (1 - (latency.fraction_above_ms(self.target_ms) or 0.0))
        within_4t = answered * (1 - (latency.fraction_above_ms(4 * self.target_ms) or 0.0))
        return (satisfied + (within_4t - satisfied) / 2) / total
