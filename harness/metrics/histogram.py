"""The one module that owns hdrhistogram: latency histograms in microseconds.

Every latency histogram in the harness is an HdrHistogram covering 1 µs .. 120 s
with 3 significant digits, so any recorded value is known to within 1/1024
(about 0.1 %) of itself. Values outside the range are clamped into it (a
request is never dropped from the counts because its latency was odd).

:class:`Latency` wraps one histogram. It merges other histograms and encoded
blobs (the ``MetricRow.hist`` base64 format, as ``HdrHistogram.encode()``
writes it) in C, and answers percentiles with the same definition as
``HdrHistogram.get_value_at_percentile`` (the highest value equivalent to the
``round(p/100 * count)``-th smallest sample) but without its per-index Python loop.

hdrhistogram's decoder allocates a 147 KB counts array per decoded blob; the
fast path here decodes into one reusable scratch array with hdrhistogram's own
C codec instead (tested to agree with ``HdrHistogram.decode``).
"""

from __future__ import annotations

import binascii
import ctypes
import sys
import zlib
from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable
from itertools import accumulate

from hdrh.codec import HdrHistogramEncoder, payload_header_size
from hdrh.histogram import HdrHistogram
from pyhdrh import add_array
from pyhdrh import decode as _c_decode

from harness.errors import InputError

LOWEST_US = 1
HIGHEST_US = 120_000_000
SIGNIFICANT_DIGITS = 3
RELATIVE_PRECISION = 1 / 1024  # width of an HdrHistogram bucket relative to its value (3 digits)

_WORD = 8


def new_histogram() -> HdrHistogram:
    """A fresh, empty latency histogram (µs, 1 µs .. 120 s, 3 significant digits)."""
    return HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)


def clamp_us(value_us: int) -> int:
    """``value_us`` forced into the histogram's trackable range."""
    if value_us < LOWEST_US:
        return LOWEST_US
    if value_us > HIGHEST_US:
        return HIGHEST_US
    return int(value_us)


class BadHistogram(InputError):
    """An encoded histogram could not be decoded (corrupt or of another shape)."""


class _Scratch:
    """One reusable counts array for decoding blobs without allocating."""

    def __init__(self, counts_len: int) -> None:
        self.counts = (ctypes.c_uint64 * counts_len)()
        self.addr = ctypes.addressof(self.counts)
        self.counts_len = counts_len


_TEMPLATE = new_histogram()
_COUNTS_LEN = _TEMPLATE.counts_len
_SCRATCH = _Scratch(_COUNTS_LEN)


def _payload_bytes(blob: str | bytes) -> bytes:
    """The decompressed V2 payload of an encoded histogram, header checked."""
    try:
        payload = HdrHistogramEncoder.decode(blob)
    except (TypeError, ValueError, binascii.Error, zlib.error, Exception) as exc:
        raise BadHistogram(f"cannot decode latency histogram: {exc}") from exc
    head = payload.payload
    if (head.lowest_trackable_value, head.highest_trackable_value, head.significant_figures) != (
        LOWEST_US,
        HIGHEST_US,
        SIGNIFICANT_DIGITS,
    ):
        raise BadHistogram(
            "latency histogram has range "
            f"{head.lowest_trackable_value}..{head.highest_trackable_value} µs with "
            f"{head.significant_figures} digits; expected {LOWEST_US}..{HIGHEST_US} µs with "
            f"{SIGNIFICANT_DIGITS} digits - write it with harness.metrics.histogram"
        )
    return payload._data  # decompressed bytes kept by hdrh until counts are initialised


class Latency:
    """A mergeable latency histogram with fast percentiles; values in µs, answers in ms."""

    __slots__ = ("_h", "_lo", "_hi")

    def __init__(self) -> None:
        self._h = new_histogram()
        self._lo = _COUNTS_LEN  # lowest non-zero counts index
        self._hi = -1  # highest non-zero counts index

    def clear(self) -> None:
        """Forget every sample (cheaper than allocating a new one)."""
        h = self._h
        if self._hi >= 0:
            start = ctypes.addressof(h.counts) + _WORD * self._lo
            ctypes.memset(start, 0, _WORD * (self._hi + 1 - self._lo))
        self._lo, self._hi = _COUNTS_LEN, -1
        h.total_count = 0
        h.min_value = sys.maxsize
        h.max_value = 0

    @property
    def count(self) -> int:
        """Number of samples recorded."""
        return self._h.total_count

    def record(self, value_us: int, count: int = 1) -> None:
        """Record one latency (clamped into 1 µs .. 120 s)."""
        value_us = clamp_us(value_us)
        self._h.record_value(value_us, count)
        index = self._h._counts_index_for(value_us)
        self._lo = min(self._lo, index)
        self._hi = max(self._hi, index)

    def add_blob(self, blob: str | bytes) -> None:
        """Merge an encoded histogram (a ``MetricRow.hist``) into this one."""
        data = _payload_bytes(blob)
        s = _SCRATCH
        res = _c_decode(data, payload_header_size, s.addr, s.counts_len, _WORD)
        total = res["total"]
        if not total:
            return
        lo, hi = res["min_nonzero_index"], res["max_nonzero_index"]
        add_array(ctypes.addressof(self._h.counts), s.addr, s.counts_len, _WORD)
        ctypes.memset(s.addr + _WORD * lo, 0, _WORD * (hi + 1 - lo))
        self._absorb(lo, hi, total)

    def add(self, other: Latency) -> None:
        """Merge another :class:`Latency` into this one."""
        if not other.count:
            return
        add_array(
            ctypes.addressof(self._h.counts), ctypes.addressof(other._h.counts), _COUNTS_LEN, _WORD
        )
        self._absorb(other._lo, other._hi, other.count)

    def _absorb(self, lo: int, hi: int, total: int) -> None:
        h = self._h
        self._lo = min(self._lo, lo)
        self._hi = max(self._hi, hi)
        h.total_count += total
        h.min_value = h.get_value_from_index(self._lo)
        h.max_value = h.get_highest_equivalent_value(h.get_value_from_index(self._hi))

    def _cumulative(self) -> list[int]:
        counts = array("Q")
        start = ctypes.addressof(self._h.counts) + _WORD * self._lo
        counts.frombytes(ctypes.string_at(start, _WORD * (self._hi + 1 - self._lo)))
        return list(accumulate(counts))

    def percentiles_ms(self, percentiles: Iterable[float]) -> list[float | None]:
        """Values at ``percentiles`` (0 < p <= 100) in ms; None for each when empty."""
        wanted = list(percentiles)
        total = self.count
        if not total:
            return [None] * len(wanted)
        cumulative = self._cumulative()
        h = self._h
        out: list[float | None] = []
        for p in wanted:
            target = max(int(min(p, 100.0) * total / 100 + 0.5), 1)
            index = self._lo + bisect_left(cumulative, target)
            out.append(h.get_highest_equivalent_value(h.get_value_from_index(index)) / 1000.0)
        return out

    def percentile_ms(self, percentile: float) -> float | None:
        """Value at ``percentile`` (0 < p <= 100) in ms, or None when empty."""
        return self.percentiles_ms([percentile])[0]

    def max_ms(self) -> float | None:
        """Largest recorded value (to the histogram's precision) in ms, or None when empty."""
        if not self.count:
            return None
        h = self._h
        return h.get_highest_equivalent_value(h.get_value_from_index(self._hi)) / 1000.0

    def fraction_above_ms(self, limit_ms: float) -> float | None:
        """Share of samples whose bucket lies wholly above ``limit_ms``; None when empty."""
        if not self.count:
            return None
        limit_us = clamp_us(int(limit_ms * 1000))
        index = self._h._counts_index_for(limit_us)
        if index < self._lo:
            return 1.0
        if index > self._hi:
            return 0.0
        at_or_below = self._cumulative()[index - self._lo]
        return (self.count - at_or_below) / self.count

    def encode(self) -> str:
        """This histogram as a ``MetricRow.hist`` string."""
        return self._h.encode().decode("ascii")

    def to_hdr(self) -> HdrHistogram:
        """A copy as a plain HdrHistogram (for tests and tools)."""
        return HdrHistogram.decode(self._h.encode())


def encode_values(values_us: Iterable[int]) -> str:
    """Encode raw latencies (µs) as a ``MetricRow.hist`` string."""
    h = _ENCODER_SCRATCH
    ctypes.memset(ctypes.addressof(h.counts), 0, _WORD * h.counts_len)
    counts = h.counts
    # hdrh's record_value, inlined (its index arithmetic, with int.bit_length for its
    # leading-zero count): ~1.3 us per distinct value there, a third of that here; a drill
    # flushes every request's latency once, and on loopback most values are distinct.
    # tests/unit/metrics checks the blobs against record_value's.
    mask, unit, half_magnitude = (
        h.sub_bucket_mask,
        h.unit_magnitude,
        h.sub_bucket_half_count_magnitude,
    )
    base, half = unit + half_magnitude + 1, h.sub_bucket_half_count
    total, lowest, highest = 0, sys.maxsize, 0
    # latencies repeat (µs resolution, similar requests): count each distinct value once
    for v, n in Counter(values_us).items():
        v = LOWEST_US if v < LOWEST_US else HIGHEST_US if v > HIGHEST_US else int(v)
        bucket = (v | mask).bit_length() - base
        counts[((bucket + 1) << half_magnitude) + (v >> (bucket + unit)) - half] += n
        total += n
        if v < lowest:
            lowest = v
        if v > highest:
            highest = v
    h.total_count = total
    h.min_value = lowest
    h.max_value = highest
    return h.encode().decode("ascii")


_ENCODER_SCRATCH = new_histogram()


def decode(blob: str | bytes) -> Latency:
    """A :class:`Latency` holding one encoded histogram."""
    out = Latency()
    out.add_blob(blob)
    return out


def merge(blobs: Iterable[str | bytes]) -> Latency:
    """One :class:`Latency` holding the sum of encoded histograms."""
    out = Latency()
    for blob in blobs:
        out.add_blob(blob)
    return out
