"""Tests for harness.metrics.store and harness.metrics.summary."""

from __future__ import annotations

import pytest

from harness.errors import ValidationFailed
from harness.metrics.store import MetricStore, sliding_windows
from harness.metrics.summary import PhaseSpan, phase_summary, time_series
from harness.metrics.synthetic import Seg, rows_for, store_for
from harness.results.model import Outcome

SEGS = [
    Seg(0, 10, "orders", Outcome.OK, 10, 100),
    Seg(0, 10, "chat", Outcome.SHED, 5, 1),
    Seg(0, 10, "chat", Outcome.ERROR, 5, 400),
]


def test_duplicate_rows_merge() -> None:
    """Rows with the same key (late rows, several workers) are merged on load."""
    rows = rows_for(SEGS, 1.0)
    store = MetricStore.from_rows(rows + rows, 1.0)
    assert store.counts(0, 10)[Outcome.OK] == 200
    assert store.latency(0, 10, endpoints={"orders"}).count == 200


def test_counts_and_filters() -> None:
    """Counts honour bucket range, endpoint and outcome filters."""
    store = store_for(SEGS)
    assert store.counts(0, 10) == {
        Outcome.OK: 100,
        Outcome.FALLBACK: 0,
        Outcome.DEGRADED: 0,
        Outcome.SHED: 50,
        Outcome.ERROR: 50,
    }
    assert store.counts(0, 5, endpoints={"chat"}, outcomes={Outcome.SHED})[Outcome.SHED] == 25
    assert store.bucket_counts(2, 4, endpoints={"orders"})[1][Outcome.OK] == 10


def test_latency_excludes_shed_by_default() -> None:
    """Latency queries leave shed out unless asked."""
    store = store_for(SEGS)
    assert store.latency(0, 10, endpoints={"chat"}).percentile_ms(50) == pytest.approx(400, 1e-3)
    shed = store.latency(0, 10, endpoints={"chat"}, outcomes={Outcome.SHED})
    assert shed.max_ms() == pytest.approx(1, rel=1e-3)


def test_from_jsonl_round_trip(tmp_path) -> None:
    """A metrics.jsonl file loads into the same figures; a bad line is named."""
    path = tmp_path / "metrics.jsonl"
    path.write_text("".join(r.model_dump_json() + "\n" for r in rows_for(SEGS, 1.0)))
    assert MetricStore.from_jsonl(path, 1.0).counts(0, 10)[Outcome.ERROR] == 50
    path.write_text('{"bucket": "x"}\n')
    with pytest.raises(ValidationFailed, match="line 1"):
        MetricStore.from_jsonl(path, 1.0)


def test_sliding_windows() -> None:
    """Windows step one bucket inside the range; a short range is one window."""
    assert sliding_windows(0, 4, 2) == [(0, 2), (1, 3), (2, 4)]
    assert sliding_windows(3, 5, 10) == [(3, 5)]
    assert sliding_windows(3, 3, 1) == []


def test_fractional_bucket_range() -> None:
    """Phase edges map onto whole buckets for fractional bucket sizes."""
    store = MetricStore(0.1)
    assert store.bucket_range(0.3, 1.2) == (3, 12)


def test_phase_summary_figures() -> None:
    """A phase summary has ratios over all requests and percentiles without shed."""
    summary = phase_summary(store_for(SEGS), PhaseSpan("baseline", 0, 10))
    assert (summary.requests, summary.rps) == (200, 20.0)
    assert (summary.error_ratio, summary.shed_ratio) == (0.25, 0.25)
    assert summary.p50_ms == pytest.approx(100, rel=1e-3)
    assert summary.max_ms == pytest.approx(400, rel=1e-3)
    assert summary.endpoints["chat"].p50_ms == pytest.approx(400, rel=1e-3)
    assert summary.p99_corrected_ms is None


def test_time_series_per_bucket() -> None:
    """The time series has one aligned entry per bucket from t = 0."""
    series = time_series(store_for(SEGS, 0.5), duration_s=10)
    assert len(series.t_s) == 20 and series.t_s[3] == 1.5
    assert sum(series.rps) * 0.5 == 200
    assert series.rps[0] == 18.0 and series.shed_ratio[0] == pytest.approx(2 / 9)
