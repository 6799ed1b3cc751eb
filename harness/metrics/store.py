"""Queries over a run's metric rows: counts, merged latency histograms, per-bucket series.

Memory design: rows stay **encoded**. For every (bucket, endpoint, outcome) the
store keeps the request count, the missing-Retry-After count and the base64
histogram string(s) exactly as written (a few hundred bytes each; duplicates
from late rows or several workers are kept side by side and merged when read).
Histograms are decoded only when a query needs them, straight into one dense
accumulator per query (hdrhistogram's C codec, ~10 µs a row), so memory grows
with the number of rows (~0.5 KB each: about 20 MB for an hour at 1 s buckets
over 6 endpoints), never with the number of requests, and no decoded
histogram outlives its query. Merging per phase up front was rejected because
sliding-window checks and failover/recovery timing need per-bucket resolution.

Error rows' kinds (``MetricRow.errors``) are summed per cell as they are loaded
(a few entries per error cell, none for the others).

Ranges are bucket indices, half open: ``[b0, b1)``. Outcome and endpoint
filters are collections (None: all). Latency queries default to every outcome
except ``shed`` (a 429 answered in 1 ms must not flatter latency).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path

from pydantic import ValidationError

from harness.errors import InputError, ValidationFailed
from harness.metrics.histogram import Latency
from harness.results.model import Outcome
from harness.results.raw import MetricRow

NON_SHED: frozenset[Outcome] = frozenset(o for o in Outcome if o is not Outcome.SHED)
SUCCESS: frozenset[Outcome] = frozenset({Outcome.OK, Outcome.FALLBACK, Outcome.DEGRADED})
_EPSILON = 1e-9


def zero_counts() -> dict[Outcome, int]:
    """A count of 0 for every outcome, in enum order."""
    return {o: 0 for o in Outcome}


class _Cell:
    """Everything known about one (bucket, endpoint, outcome)."""

    __slots__ = ("count", "retry_after_missing", "hists", "corrected", "any_corrected", "errors")

    def __init__(self) -> None:
        self.count = 0
        self.retry_after_missing = 0
        self.errors: dict[str, int] | None = None  # error kind -> count (error rows only)
        self.hists: list[str] = []
        self.corrected: list[str] = []
        self.any_corrected = False  # some row carried its own corrected histogram


class MetricStore:
    """Merged metric rows of one run, queried by bucket range, endpoints and outcomes."""

    def __init__(self, bucket_s: float) -> None:
        if not bucket_s > 0:
            raise InputError(f"MetricStore: bucket_s must be > 0, got {bucket_s!r}")
        self.bucket_s = float(bucket_s)
        self._buckets: dict[int, dict[tuple[str, Outcome], _Cell]] = {}
        self._endpoints: set[str] = set()
        self.rows_loaded = 0

    # -- loading -----------------------------------------------------------------

    @classmethod
    def from_rows(cls, rows: Iterable[MetricRow], bucket_s: float) -> MetricStore:
        """A store holding ``rows`` (rows with the same key are merged)."""
        store = cls(bucket_s)
        for row in rows:
            store.add_row(row)
        return store

    @classmethod
    def from_jsonl(cls, path: str | Path, bucket_s: float) -> MetricStore:
        """A store read from a ``metrics.jsonl`` file, streamed line by line."""
        store = cls(bucket_s)
        problems: list[str] = []
        with open(path, encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    store.add_row(MetricRow.model_validate_json(line))
                except ValidationError as exc:
                    problems.append(f"line {number}: {exc.errors()[0]['msg']}")
                    if len(problems) >= 20:
                        break
        if problems:
            raise ValidationFailed(str(path), problems)
        return store

    def add_row(self, row: MetricRow) -> None:
        """Merge one row into the store."""
        cells = self._buckets.get(row.bucket)
        if cells is None:
            cells = self._buckets[row.bucket] = {}
        key = (row.endpoint, row.outcome)
        cell = cells.get(key)
        if cell is None:
            cell = cells[key] = _Cell()
            self._endpoints.add(row.endpoint)
        cell.count += row.count
        cell.retry_after_missing += row.retry_after_missing
        cell.hists.append(row.hist)
        # a row without a corrected histogram counts there with its raw one
        cell.corrected.append(row.hist_corrected or row.hist)
        cell.any_corrected = cell.any_corrected or row.hist_corrected is not None
        if row.errors:
            errors = cell.errors if cell.errors is not None else {}
            for kind, n in row.errors.items():
                errors[kind] = errors.get(kind, 0) + n
            cell.errors = errors
        self.rows_loaded += 1

    # -- extent --------------------------------------------------------------------

    @property
    def endpoints(self) -> list[str]:
        """Every endpoint seen, sorted."""
        return sorted(self._endpoints)

    @property
    def end_bucket(self) -> int:
        """One past the last bucket holding data (0 when empty)."""
        return max(self._buckets, default=-1) + 1

    def bucket_range(self, start_s: float, end_s: float) -> tuple[int, int]:
        """Buckets ``[b0, b1)`` covering ``[start_s, end_s)`` (ends rounded to whole buckets)."""
        b0 = math.floor(start_s / self.bucket_s + _EPSILON)
        b1 = math.ceil(end_s / self.bucket_s - _EPSILON)
        return max(b0, 0), max(b1, b0, 0)

    # -- queries -------------------------------------------------------------------

    def _cells(
        self,
        b0: int,
        b1: int,
        endpoints: Collection[str] | None,
        outcomes: Collection[Outcome] | None,
    ) -> Iterator[tuple[int, _Cell, Outcome]]:
        buckets = self._buckets
        for b in range(b0, b1):
            cells = buckets.get(b)
            if not cells:
                continue
            for (endpoint, outcome), cell in cells.items():
                if endpoints is not None and endpoint not in endpoints:
                    continue
                if outcomes is not None and outcome not in outcomes:
                    continue
                yield b, cell, outcome

    def counts(
        self,
        b0: int,
        b1: int,
        endpoints: Collection[str] | None = None,
        outcomes: Collection[Outcome] | None = None,
    ) -> dict[Outcome, int]:
        """Requests per outcome that started in buckets ``[b0, b1)`` (every outcome present)."""
        out = zero_counts()
        for _, cell, outcome in self._cells(b0, b1, endpoints, outcomes):
            out[outcome] += cell.count
        return out

    def bucket_counts(
        self, b0: int, b1: int, endpoints: Collection[str] | None = None
    ) -> list[dict[Outcome, int]]:
        """Counts per outcome for each bucket of ``[b0, b1)``, in order."""
        series = [zero_counts() for _ in range(b0, b1)]
        for b, cell, outcome in self._cells(b0, b1, endpoints, None):
            series[b - b0][outcome] += cell.count
        return series

    def retry_after_missing(
        self, b0: int, b1: int, endpoints: Collection[str] | None = None
    ) -> int:
        """Shed responses without a Retry-After header in ``[b0, b1)``."""
        return sum(cell.retry_after_missing for _, cell, _ in self._cells(b0, b1, endpoints, None))

    def latency(
        self,
        b0: int,
        b1: int,
        endpoints: Collection[str] | None = None,
        outcomes: Collection[Outcome] | None = NON_SHED,
        corrected: bool = False,
        into: Latency | None = None,
    ) -> Latency:
        """Merged latency of ``[b0, b1)`` (raw, or coordinated-omission corrected).

        ``into`` is cleared and reused (allocating a histogram costs ~0.2 ms).
        """
        out = into if into is not None else Latency()
        if into is not None:
            out.clear()
        for _, cell, _ in self._cells(b0, b1, endpoints, outcomes):
            for blob in cell.corrected if corrected else cell.hists:
                out.add_blob(blob)
        return out

    def error_kinds(
        self, b0: int, b1: int, endpoints: Collection[str] | None = None
    ) -> dict[str, int]:
        """Errors per error kind in ``[b0, b1)`` ({} for runs made before kinds were recorded)."""
        out: dict[str, int] = {}
        for _, cell, _ in self._cells(b0, b1, endpoints, (Outcome.ERROR,)):
            for kind, n in (cell.errors or {}).items():
                out[kind] = out.get(kind, 0) + n
        return out

    def has_corrected(self, b0: int, b1: int) -> bool:
        """True when some row of ``[b0, b1)`` carried a coordinated-omission corrected histogram."""
        return any(cell.any_corrected for _, cell, _ in self._cells(b0, b1, None, None))


def sliding_windows(b0: int, b1: int, window_buckets: int) -> list[tuple[int, int]]:
    """Windows ``[w, w + window_buckets)`` inside ``[b0, b1)``, stepping one bucket.

    A scope shorter than the window yields the scope itself as one window.
    """
    if window_buckets >= b1 - b0:
        return [(b0, b1)] if b1 > b0 else []
    return [(w, w + window_buckets) for w in range(b0, b1 - window_buckets + 1)]
