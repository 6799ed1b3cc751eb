"""What the harness master and its Locust workers say to each other (no Locust import).

Locust carries the bytes: custom messages (``runner.send_message`` /
``register_message``) for the set-up and the shut-down, and the ``report_to_master``
/ ``worker_report`` events for the data, every ``WORKER_REPORT_INTERVAL_S``.

Set-up: a worker connects, registers its handlers and says :data:`MSG_HELLO`; the
master answers with :data:`MSG_CONFIG` (a :class:`WorkerConfig`: drill start
time, bucket size, outcome and write rules) once the drill clock has started; the
worker answers :data:`MSG_READY`. So a worker needs only the scenario file and the
master's address. Shut-down: :data:`MSG_STOP` makes a worker send no new request,
give the ones in flight up to ``drain_s`` to finish (recording those still open
then as errors), stop its users and send everything it still holds in
:data:`MSG_FINAL`.

Data: a :class:`WorkerBatch` classifies nothing itself; it records samples into a
:class:`~harness.metrics.recorder.Recorder` (the same per-bucket rows as a local
run, error kinds included) and keeps acknowledged writes and a compact per-second
live summary until the next report drains them into a plain dict (:data:`REPORT_KEY`).
The worker's own health rows (:mod:`harness.load.health`, one per bucket) travel the
same way.

Open model: the master splits the arrival rate and ``max_concurrency`` over the
ready workers (:func:`worker_shares`: rate / workers each, the concurrency as
near-equal whole numbers) and sends each worker its :class:`WorkerRate` in
:data:`MSG_RATE` whenever the level or the set of workers changes. Each worker
runs its own arrival gate at that rate, records its dropped arrivals as rows and
reports its cumulative issued and dropped arrivals with every batch.
"""

from __future__ import annotations

import random
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from harness.load.classify import RequestSample
from harness.load.outcome import OutcomeRules
from harness.load.spec import WriteRule
from harness.metrics.recorder import Recorder
from harness.results.model import Outcome
from harness.results.raw import AckedWrite, GeneratorRow, MetricRow

MSG_HELLO = "harness_hello"
MSG_CONFIG = "harness_config"
MSG_READY = "harness_ready"
MSG_STOP = "harness_stop"
MSG_FINAL = "harness_final"
MSG_RATE = "harness_rate"
REPORT_KEY = "harness"

WORKER_REPORT_INTERVAL_S = 1.0  # Locust's default is 3 s; abort conditions need fresher data
LIVE_LAG_S = 2.0  # the master files worker live data this much later (see engine docs)
LIVE_SAMPLES_PER_SECOND = 2000  # per worker, outcome and second; counts stay exact


class WorkerConfig(BaseModel):
    """Everything a worker needs from the drill, sent by the master."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    t0_unix_s: float = Field(description="time.time() on the master at drill t = 0")
    bucket_s: float = Field(gt=0)
    outcomes: OutcomeRules
    writes: list[WriteRule]
    grace_s: float = Field(
        default=2.0, ge=0, description="a bucket is sent this long after it closes"
    )
    drain_s: float = Field(
        default=10.0, ge=0, description="at the stop: how long requests in flight may finish"
    )
    open_model: bool = Field(
        default=False, description="users wait for arrivals at the rate of MSG_RATE (open model)"
    )


class WorkerRate(BaseModel):
    """One worker's share of the open model's load, sent by the master in MSG_RATE."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rate_per_s: float = Field(ge=0, description="arrivals a second this worker issues")
    max_backlog: int = Field(ge=0, description="arrivals that may wait for a free user")


def split_count(total: int, parts: int) -> list[int]:
    """``total`` as ``parts`` whole numbers that differ by at most one (the first ones larger)."""
    if parts <= 0:
        return []
    base, extra = divmod(max(total, 0), parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def worker_shares(
    rate_per_s: float, max_concurrency: int, workers: list[str]
) -> dict[str, WorkerRate]:
    """Each worker's share: ``rate / len(workers)`` arrivals a second, ``max_concurrency`` split.

    Workers are taken in sorted order, so the same set always gets the same shares.
    """
    ordered = sorted(workers)
    if not ordered:
        return {}
    rate = max(rate_per_s, 0.0) / len(ordered)
    backlogs = split_count(max_concurrency, len(ordered))
    return {
        worker: WorkerRate(rate_per_s=rate, max_backlog=backlog)
        for worker, backlog in zip(ordered, backlogs, strict=True)
    }


class WorkerBatch:
    """A worker's recorded data between two reports to the master."""

    def __init__(self, config: WorkerConfig) -> None:
        self.config = config
        self._rows: list[MetricRow] = []
        self.recorder = Recorder(bucket_s=config.bucket_s, sink=self._take_rows)
        self._writes: list[AckedWrite] = []
        self._health: list[GeneratorRow] = []
        self._live: dict[tuple[int, Outcome], list[float]] = {}
        self._live_counts: dict[tuple[int, Outcome], int] = {}
        self.requests = 0
        self.arrivals: dict[str, int] | None = None  # open model: cumulative issued, dropped

    def _take_rows(self, rows: list[MetricRow]) -> None:
        self._rows.extend(rows)

    def add_rows(self, rows: list[MetricRow]) -> None:
        """Rows made elsewhere (the open model's dropped arrivals) for the next report."""
        self._rows.extend(rows)

    def set_arrivals(self, issued: int, dropped: int) -> None:
        """The worker's arrivals so far (open model); every report carries the latest."""
        self.arrivals = {"issued": issued, "dropped": dropped}

    def add_health(self, row: GeneratorRow) -> None:
        """Keep one of the worker's own health rows (its LoopMonitor's sink) for the next report."""
        self._health.append(row)

    def add(self, samples: list[RequestSample], writes: list[AckedWrite] | None = None) -> None:
        """Record classified requests (and the writes they acknowledged) for the next report."""
        self.requests += len(samples)
        if writes:
            self._writes.extend(writes)
        record = self.recorder.record_sample
        counts, live = self._live_counts, self._live
        for sample in samples:
            record(sample)
            key = (int(sample.t_s // 1), sample.outcome)
            seen = counts.get(key, 0) + 1
            counts[key] = seen
            latencies = live.get(key)
            if latencies is None:
                latencies = live[key] = []
            if sample.latency_us is None:  # an exception in a task's code: counted, not timed
                continue
            latency_ms = round(sample.latency_us / 1000, 2)
            if len(latencies) < LIVE_SAMPLES_PER_SECOND:
                latencies.append(latency_ms)
            else:  # reservoir sampling keeps the latencies representative
                slot = random.randrange(seen)
                if slot < LIVE_SAMPLES_PER_SECOND:
                    latencies[slot] = latency_ms

    def drain(self, now_s: float | None, *, final: bool = False) -> dict[str, Any]:
        """Rows of buckets closed ``grace_s`` before ``now_s`` (all when ``final``), writes, live."""
        if final or now_s is None:
            self.recorder.flush_all()
        else:
            self.recorder.flush(now_s - self.config.grace_s)
        rows, self._rows = self._rows, []
        writes, self._writes = self._writes, []
        health, self._health = self._health, []
        live = [
            [second, outcome.value, self._live_counts[(second, outcome)], latencies]
            for (second, outcome), latencies in self._live.items()
        ]
        self._live, self._live_counts = {}, {}
        payload: dict[str, Any] = {
            "rows": [row.model_dump(mode="json") for row in rows],
            "writes": [write.model_dump(mode="json") for write in writes],
            "live": live,
            "generator": [row.model_dump(mode="json") for row in health],
        }
        if self.arrivals is not None:
            payload["arrivals"] = dict(self.arrivals)
        return payload


def decode_arrivals(payload: dict[str, Any]) -> tuple[int, int] | None:
    """A worker's cumulative (issued, dropped) arrivals in a drained batch; None if none."""
    arrivals = payload.get("arrivals")
    if not arrivals:
        return None
    return int(arrivals["issued"]), int(arrivals["dropped"])


def decode_health(payload: dict[str, Any]) -> list[GeneratorRow]:
    """The worker's own health rows in a drained batch (none from an older worker)."""
    return [GeneratorRow.model_validate(r) for r in payload.get("generator", [])]


def decode_batch(
    payload: dict[str, Any],
) -> tuple[list[MetricRow], list[AckedWrite], list[tuple[float, Outcome, float | None]]]:
    """The rows, writes and live samples ``(t_s, outcome, latency_ms)`` of a drained batch.

    Live samples are expanded back to one per request (exact counts); when a worker
    capped the latencies of a second, the kept ones are reused in turn; a second with
    none (only exceptions in tasks' own code) gives no latency.
    """
    rows = [MetricRow.model_validate(r) for r in payload.get("rows", [])]
    writes = [AckedWrite.model_validate(w) for w in payload.get("writes", [])]
    live: list[tuple[float, Outcome, float | None]] = []
    for second, outcome, count, latencies in payload.get("live", []):
        kind = Outcome(outcome)
        for i in range(int(count)):
            latency = float(latencies[i % len(latencies)]) if latencies else None
            live.append((float(second) + 0.5, kind, latency))
    return rows, writes, live
