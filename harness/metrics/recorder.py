"""Recording requests into per-bucket metric rows, cheaply, with bounded memory.

A :class:`Recorder` sits in Locust's request hook (under gevent), so
:meth:`Recorder.record` only appends the latency to a list keyed by
(bucket, endpoint, outcome): no histogram work per call. Histograms are built
when a bucket is flushed, once per (bucket, endpoint, outcome), about once a
second. Only open (unflushed) buckets are held, so memory depends on the rate
and the flush lag, not on the length of the run.

A bucket holds the requests that *started* in it: bucket ``b`` covers
``[b * bucket_s, (b + 1) * bucket_s)`` from drill start. A request recorded
after its bucket was flushed (a slow request, a late worker) opens that bucket
again; the next flush emits a second row for the same key, and readers merge.
Requests that report a start before t = 0 count in bucket 0.

``intended_latency_us`` (open model: from the *scheduled* send time to the end)
feeds ``hist_corrected``; a request without one counts there with its actual
latency, so both histograms of a row hold every timed request.

Error samples carry an error kind (``http 500``, ``ReadTimeout``, ...): the row of
their key counts them per kind (``MetricRow.errors``). Memory stays bounded: a key
holds at most ``2 * MAX_ERROR_KINDS`` distinct kinds (later new ones count as
``other``), and its row keeps the ``MAX_ERROR_KINDS`` most frequent, the rest summed
into ``other``. An error without a latency (an exception in a task's own code) is
counted in ``count`` and ``errors`` only, so it cannot flatter the percentiles.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from harness.errors import InputError
from harness.metrics.histogram import encode_values
from harness.results.model import Outcome
from harness.results.raw import MAX_ERROR_KINDS, OTHER_KIND, MetricRow

# Guards float division against representation error: 0.3 / 0.1 == 2.9999999999999996.
_EPSILON = 1e-9

Key = tuple[int, str, Outcome]
_KINDS_HELD = 2 * MAX_ERROR_KINDS  # distinct kinds a key holds before new ones count as other


class Sample(Protocol):
    """What :meth:`Recorder.record_sample` reads (``harness.load.classify.RequestSample``)."""

    t_s: float
    endpoint: str
    outcome: Outcome
    latency_us: int | None
    intended_latency_us: int | None
    retry_after_missing: bool
    error_kind: str | None


def bucket_of(t_s: float, bucket_s: float) -> int:
    """Index of the bucket holding time ``t_s`` (seconds from drill start)."""
    b = int(t_s / bucket_s + _EPSILON)
    return b if b > 0 else 0


class Recorder:
    """Collects requests per (start bucket, endpoint, outcome) and emits closed buckets as rows.

    ``clock`` (seconds since drill start) is used only by :meth:`flush` when no
    cut-off is given: buckets that ended more than ``grace_s`` ago are flushed.
    """

    def __init__(
        self,
        bucket_s: float,
        sink: Callable[[list[MetricRow]], None],
        clock: Callable[[], float] | None = None,
        grace_s: float = 0.0,
    ) -> None:
        if not bucket_s > 0:
            raise InputError(f"Recorder: bucket_s must be > 0, got {bucket_s!r}")
        self.bucket_s = float(bucket_s)
        self._inv = 1.0 / self.bucket_s
        self._sink = sink
        self._clock = clock
        self._grace_s = grace_s
        self._latencies: dict[Key, list[int]] = {}
        self._intended: dict[Key, list[int]] = {}
        self._retry_after_missing: dict[Key, int] = {}
        self._errors: dict[Key, dict[str, int]] = {}
        self._untimed: dict[Key, int] = {}  # errors without a latency
        self.rows_emitted = 0

    def record_sample(self, sample: Sample) -> None:
        """Count one classified request (the drill process and each Locust worker call this)."""
        self._add(  # positional: this runs for every request
            sample.t_s,
            sample.endpoint,
            sample.outcome,
            sample.latency_us,
            sample.intended_latency_us,
            sample.retry_after_missing,
            sample.error_kind,
        )

    def record(
        self,
        *,
        t_s: float,
        endpoint: str,
        outcome: Outcome,
        latency_us: int,
        intended_latency_us: int | None = None,
        retry_after_missing: bool = False,
        error_kind: str | None = None,
    ) -> None:
        """Count one request that started at ``t_s`` (seconds from drill start).

        ``latency_us`` may be None only for an error with a kind (nothing was timed).
        """
        self._add(
            t_s, endpoint, outcome, latency_us, intended_latency_us, retry_after_missing, error_kind
        )

    def _add(
        self,
        t_s: float,
        endpoint: str,
        outcome: Outcome,
        latency_us: int | None,
        intended_latency_us: int | None,
        retry_after_missing: bool,
        error_kind: str | None,
    ) -> None:
        b = int(t_s * self._inv + _EPSILON)
        key = (b if b > 0 else 0, endpoint, outcome)
        latencies = self._latencies.get(key)
        if latencies is None:
            latencies = self._latencies[key] = []
        if error_kind is not None:
            self._count_error(key, error_kind)
            if latency_us is None:
                self._untimed[key] = self._untimed.get(key, 0) + 1
                return
        latencies.append(latency_us)  # type: ignore[arg-type]  # None only with a kind
        if intended_latency_us is not None:
            intended = self._intended.get(key)
            if intended is None:  # earlier requests of this key count with their actual latency
                intended = self._intended[key] = latencies[:-1]
            intended.append(intended_latency_us)
        elif self._intended and key in self._intended:
            self._intended[key].append(latency_us)
        if retry_after_missing:
            self._retry_after_missing[key] = self._retry_after_missing.get(key, 0) + 1

    def _count_error(self, key: Key, kind: str) -> None:
        kinds = self._errors.get(key)
        if kinds is None:
            kinds = self._errors[key] = {}
        if kind not in kinds and len(kinds) >= _KINDS_HELD:
            kind = OTHER_KIND
        kinds[kind] = kinds.get(kind, 0) + 1

    @property
    def open_buckets(self) -> int:
        """How many distinct buckets are held in memory (not yet flushed)."""
        return len({key[0] for key in self._latencies})

    def flush(self, older_than_t_s: float | None = None) -> int:
        """Emit rows for buckets that ended at or before ``older_than_t_s``; return the row count.

        Without a cut-off, the clock given at construction decides (minus ``grace_s``).
        """
        if older_than_t_s is None:
            if self._clock is None:
                raise InputError(
                    "Recorder.flush(): no cut-off given and no clock configured - "
                    "pass older_than_t_s or construct the Recorder with clock="
                )
            older_than_t_s = self._clock() - self._grace_s
        # bucket b ends at (b + 1) * bucket_s
        last_closed = int(older_than_t_s * self._inv + _EPSILON) - 1
        return self._emit([k for k in self._latencies if k[0] <= last_closed])

    def flush_all(self) -> int:
        """Emit rows for every bucket still held (end of the drill); return the row count."""
        return self._emit(list(self._latencies))

    def _emit(self, keys: list[Key]) -> int:
        if not keys:
            return 0
        keys.sort(key=lambda k: (k[0], k[1], k[2].value))
        rows = [self._row(key) for key in keys]
        self._sink(rows)
        self.rows_emitted += len(rows)
        return len(rows)

    def _row(self, key: Key) -> MetricRow:
        latencies = self._latencies.pop(key)
        intended = self._intended.pop(key, None)
        errors = self._errors.pop(key, None)
        return MetricRow(
            bucket=key[0],
            endpoint=key[1],
            outcome=key[2],
            count=len(latencies) + self._untimed.pop(key, 0),
            hist=encode_values(latencies),
            hist_corrected=encode_values(intended) if intended else None,
            retry_after_missing=self._retry_after_missing.pop(key, 0),
            errors=capped(errors, MAX_ERROR_KINDS) if errors else {},
        )


def capped(counts: dict[str, int], limit: int) -> dict[str, int]:
    """The ``limit`` largest counts (ties by name), largest first, then the rest as ``other``."""
    ranked = sorted(
        ((k, n) for k, n in counts.items() if k != OTHER_KIND), key=lambda kn: (-kn[1], kn[0])
    )
    kept = dict(ranked[:limit])
    rest = sum(counts.values()) - sum(kept.values())
    return {**kept, OTHER_KIND: rest} if rest else kept
