"""The load generator's own health over a run: its rows per bucket, judged against bounds.

Every load process writes one :class:`~harness.results.raw.GeneratorRow` per time
bucket (:mod:`harness.load.health`): its event loop's worst and mean lag and its
CPU. This store answers, for a span of buckets (a phase, the drill), how healthy
the generator was and whether it passed a bound, in which case latencies measured
then are partly the generator's own delay: a timer that fires 180 ms late times
every answer that arrived meanwhile up to 180 ms slow.

Bounds (:class:`GeneratorBounds`, settable in a drill's ``generator:`` section):

- **event-loop lag** above :data:`LAG_LIMIT_MS` (50 ms) in any bucket: a healthy
  load process wakes within a few ms (about 0.3 ms idle and 1-6 ms at 2,300
  requests/s on the development machine);
- **CPU** above :data:`CPU_LIMIT_PERCENT` (90 % of one core, Locust's own warning
  level), judged on averages over :data:`CPU_WINDOW_S` (1 s), so one busy bucket
  (users spawning, a flush) does not count.

Only processes that time requests are judged: the drill's own process when the
load runs in-process (``harness``) and each Locust worker (``worker-<pid>``). A
Locust master (``master``) sends no request; its rows are kept and summarised,
not judged. Per bucket the worst process counts.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from harness.results.model import GeneratorHealth, GeneratorSummary
from harness.results.raw import GeneratorRow

LAG_LIMIT_MS = 50.0
CPU_LIMIT_PERCENT = 90.0
CPU_WINDOW_S = 1.0
LAG_PERCENTILE = 95.0  # GeneratorHealth.lag_p95_ms: over the buckets' worst lags
MASTER = "master"  # process name of a Locust master: times no request, so is not judged
_EPSILON = 1e-9


@dataclass(frozen=True)
class GeneratorBounds:
    """Past either bound, latencies measured at the time are limited by the load generator."""

    lag_ms: float = LAG_LIMIT_MS
    cpu_percent: float = CPU_LIMIT_PERCENT


class GeneratorStore:
    """Generator rows of one run by process and bucket; figures and notes per bucket range."""

    def __init__(self, bucket_s: float, bounds: GeneratorBounds | None = None) -> None:
        self.bucket_s = bucket_s
        self.bounds = bounds or GeneratorBounds()
        self._rows: dict[str, dict[int, GeneratorRow]] = {}

    @classmethod
    def from_rows(
        cls, rows: Iterable[GeneratorRow], bucket_s: float, bounds: GeneratorBounds | None = None
    ) -> GeneratorStore:
        store = cls(bucket_s, bounds)
        for row in rows:
            store.add_row(row)
        return store

    def add_row(self, row: GeneratorRow) -> None:
        """Add one row; a second row for the same process and bucket is merged (worst wins)."""
        buckets = self._rows.setdefault(row.process, {})
        seen = buckets.get(row.bucket)
        if seen is not None:
            samples = seen.samples + row.samples
            row = GeneratorRow(
                bucket=row.bucket,
                process=row.process,
                samples=samples,
                lag_max_ms=max(seen.lag_max_ms, row.lag_max_ms),
                lag_mean_ms=(seen.lag_mean_ms * seen.samples + row.lag_mean_ms * row.samples)
                / max(samples, 1),
                cpu_percent=max(seen.cpu_percent, row.cpu_percent),
            )
        buckets[row.bucket] = row

    def __bool__(self) -> bool:
        return bool(self._rows)

    @property
    def processes(self) -> list[str]:
        """Every process that sent rows, sorted."""
        return sorted(self._rows)

    @property
    def judged(self) -> list[str]:
        """The processes that time requests (all but a Locust master), sorted."""
        return [p for p in self.processes if p != MASTER]

    def health(
        self, b0: int, b1: int, processes: list[str] | None = None
    ) -> GeneratorHealth | None:
        """Figures over buckets ``[b0, b1)`` of ``processes`` (default: the judged ones)."""
        processes = self.judged if processes is None else processes
        rows = [row for p in processes for b, row in self._rows.get(p, {}).items() if b0 <= b < b1]
        if not rows:
            return None
        worst: dict[int, float] = {}
        for row in rows:
            worst[row.bucket] = max(worst.get(row.bucket, 0.0), row.lag_max_ms)
        samples = sum(r.samples for r in rows)
        lag_max = max(worst.values())
        cpu_max = max(self._cpu_peak(p, b0, b1) for p in processes)
        return GeneratorHealth(
            lag_max_ms=lag_max,
            lag_p95_ms=_percentile(sorted(worst.values()), LAG_PERCENTILE),
            lag_mean_ms=round(sum(r.lag_mean_ms * r.samples for r in rows) / max(samples, 1), 3),
            cpu_max_percent=cpu_max,
            limited=lag_max > self.bounds.lag_ms or cpu_max > self.bounds.cpu_percent,
        )

    def note(self, b0: int, b1: int, label: str) -> str | None:
        """The caveat for a latency measured over ``[b0, b1)``; None when no bound was passed."""
        health = self.health(b0, b1)
        if health is None or not health.limited:
            return None
        return limited_note(health, self.bounds, label)

    def summary(self, b0: int, b1: int, limited_phases: list[str]) -> GeneratorSummary:
        """The drill's figures over ``[b0, b1)``: judged processes together, and each process."""
        return GeneratorSummary(
            lag_limit_ms=self.bounds.lag_ms,
            cpu_limit_percent=self.bounds.cpu_percent,
            drill=self.health(b0, b1),
            processes={p: health for p in self.processes if (health := self.health(b0, b1, [p]))},
            limited_phases=limited_phases,
        )

    def series(self, buckets: int) -> tuple[list[float | None], list[float | None]]:
        """Per bucket from 0: the worst lag (ms) and the highest CPU (%) of the judged processes."""
        lag: list[float | None] = [None] * buckets
        cpu: list[float | None] = [None] * buckets
        for process in self.judged:
            for b, row in self._rows[process].items():
                if 0 <= b < buckets:
                    lag[b] = max(lag[b] or 0.0, row.lag_max_ms)
                    cpu[b] = max(cpu[b] or 0.0, row.cpu_percent)
        return lag, cpu

    def _cpu_peak(self, process: str, b0: int, b1: int) -> float:
        """The highest average CPU of ``process`` over any ``CPU_WINDOW_S`` within ``[b0, b1)``."""
        cpu = {b: r.cpu_percent for b, r in self._rows.get(process, {}).items() if b0 <= b < b1}
        if not cpu:
            return 0.0
        k = max(1, int(CPU_WINDOW_S / self.bucket_s + _EPSILON))
        peak = 0.0
        for start in range(b0, max(b0 + 1, b1 - k + 1)):
            window = [cpu[b] for b in range(start, min(start + k, b1)) if b in cpu]
            if window:
                peak = max(peak, sum(window) / len(window))
        return round(peak, 1)


def limited_note(health: GeneratorHealth, bounds: GeneratorBounds, label: str) -> str:
    """``limited by the load generator: event-loop lag up to 180 ms ... during phase 'x' ...``."""
    lag = f"event-loop lag up to {health.lag_max_ms:,.0f} ms"
    if health.lag_max_ms > bounds.lag_ms:
        lag += f" (bound {bounds.lag_ms:g} ms)"
    cpu = f"CPU up to {health.cpu_max_percent:.0f} % of a core"
    if health.cpu_max_percent > bounds.cpu_percent:
        cpu += f" (bound {bounds.cpu_percent:g} %)"
    return (
        f"limited by the load generator: {lag}, {cpu} during {label}; latencies measured "
        "then include the generator's own delay"
    )


def _percentile(ordered: list[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]
