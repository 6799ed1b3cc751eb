"""Tests for harness.metrics.histogram."""

from __future__ import annotations

import math
import random

import pytest
from hdrh.histogram import HdrHistogram

from harness.metrics.histogram import (
    RELATIVE_PRECISION,
    BadHistogram,
    Latency,
    decode,
    encode_values,
    merge,
)

PERCENTILES = [50.0, 90.0, 95.0, 99.0, 99.9, 100.0]


def exact_percentile(sorted_values: list[int], p: float) -> int:
    """Nearest-rank percentile with HdrHistogram's rounding of the rank."""
    rank = max(int(p * len(sorted_values) / 100 + 0.5), 1)
    return sorted_values[rank - 1]


@pytest.fixture(scope="module")
def samples() -> list[int]:
    rng = random.Random(20240501)
    return [max(1, int(rng.lognormvariate(math.log(80_000), 0.8))) for _ in range(100_000)]


def test_percentiles_exact_to_precision(samples: list[int]) -> None:
    """Percentiles of 100k lognormal samples are within 0.1 % of the exact sorted-list values."""
    latency = decode(encode_values(samples))
    exact = sorted(samples)
    for p, got_ms in zip(PERCENTILES, latency.percentiles_ms(PERCENTILES), strict=True):
        want_us = exact_percentile(exact, p)
        assert got_ms is not None
        assert want_us <= got_ms * 1000 <= want_us * (1 + RELATIVE_PRECISION) + 1


def test_percentiles_survive_split_encode_and_merge(samples: list[int]) -> None:
    """Splitting samples over 10 encoded blobs and merging gives the same percentiles as one."""
    whole = decode(encode_values(samples)).percentiles_ms(PERCENTILES)
    parts = [encode_values(samples[i::10]) for i in range(10)]
    merged = merge(parts)
    assert merged.count == len(samples)
    assert merged.percentiles_ms(PERCENTILES) == whole
    again = Latency()
    again.add(merged)
    assert decode(again.encode()).percentiles_ms(PERCENTILES) == whole


def test_fast_path_agrees_with_hdrhistogram(samples: list[int]) -> None:
    """The fast decode and percentile path agrees with HdrHistogram's own decode and query."""
    blob = encode_values(samples[:5000])
    reference = HdrHistogram.decode(blob)
    ours = decode(blob)
    for p in PERCENTILES:
        assert ours.percentile_ms(p) == reference.get_value_at_percentile(p) / 1000
    assert ours.max_ms() == reference.get_max_value() / 1000
    assert ours.count == reference.get_total_count()


def test_out_of_range_values_are_clamped_not_dropped() -> None:
    """Latencies of 0 µs and 10 minutes are counted, clamped into 1 µs .. 120 s."""
    latency = decode(encode_values([0, 600_000_000]))
    assert latency.count == 2
    assert latency.max_ms() == pytest.approx(120_000, rel=RELATIVE_PRECISION)


def test_empty_histogram_has_no_percentiles() -> None:
    """An empty histogram answers None for percentiles and max."""
    empty = Latency()
    assert empty.percentile_ms(95) is None and empty.max_ms() is None
    assert decode(encode_values([])).count == 0


def test_clear_and_fraction_above() -> None:
    """clear() empties a histogram; fraction_above_ms counts samples above a limit."""
    latency = decode(encode_values([1000] * 90 + [500_000] * 10))
    assert latency.fraction_above_ms(100) == pytest.approx(0.1)
    latency.clear()
    assert latency.count == 0 and latency.fraction_above_ms(100) is None


def test_corrupt_blob_raises_harness_error() -> None:
    """A corrupt blob raises BadHistogram (a HarnessError), never a library error."""
    with pytest.raises(BadHistogram):
        decode("not-a-histogram")


def test_encode_values_gives_the_blob_of_hdrh_record_value() -> None:
    """The inlined encoder writes exactly the blob hdrh's own record_value gives, edges included."""
    rng = random.Random(11)
    cases = [[], [0], [-5], [1], [2047], [2048], [4095], [4096], [600_000_000], [1000] * 7]
    for _ in range(200):
        mu, sigma = rng.uniform(0, 17), rng.uniform(0.1, 3)
        cases.append([int(rng.lognormvariate(mu, sigma)) for _ in range(rng.choice([1, 10, 500]))])
    for values in cases:
        reference = HdrHistogram(1, 120_000_000, 3)
        for value in values:
            reference.record_value(min(max(value, 1), 120_000_000))
        assert encode_values(values) == reference.encode().decode("ascii"), values[:5]
