"""Per-endpoint series in report.json and their small multiples in report.html."""

from __future__ import annotations

import pytest

from harness.metrics.summary import endpoint_series, time_series
from harness.metrics.synthetic import Seg, store_for
from harness.report import html
from harness.report.endpoints import build_small_multiples, merged
from harness.results.model import Outcome, RunReport
from harness.results.raw import DROPPED_ENDPOINT


def test_each_endpoint_gets_its_own_p95_and_error_ratio_per_bucket() -> None:
    """From the per-(bucket, endpoint, outcome) rows: rps, p95 and errors of each endpoint."""
    store = store_for(
        [
            Seg(0, 4, "orders", Outcome.OK, 10, 100),
            Seg(2, 4, "orders", Outcome.ERROR, 10, 900),
            Seg(0, 4, "chat", Outcome.OK, 4, 20),
            Seg(0, 4, DROPPED_ENDPOINT, Outcome.ERROR, 5, 0),
        ]
    )
    series = time_series(store, 4.0)
    assert sorted(series.endpoints) == ["chat", "orders"]  # drops are not an endpoint
    orders = series.endpoints["orders"]
    assert orders.rps == [10.0, 10.0, 20.0, 20.0]
    assert orders.error_ratio == [0.0, 0.0, 0.5, 0.5]
    assert orders.p95_ms[0] == pytest.approx(100, rel=0.01)
    assert orders.p95_ms[3] == pytest.approx(900, rel=0.01)
    assert series.endpoints["chat"].error_ratio == [0.0] * 4


def test_only_the_busiest_endpoints_are_kept() -> None:
    """At most ``limit`` endpoints, the busiest; a bucket without requests has no ratio."""
    store = store_for(
        [Seg(0, 1, f"e{i}", Outcome.OK, i + 1, 10) for i in range(5)]
        + [Seg(2, 3, "e4", Outcome.OK, 1, 10)]
    )
    kept = endpoint_series(store, 3, limit=2)
    assert sorted(kept) == ["e3", "e4"]
    assert kept["e3"].error_ratio == [0.0, None, None]


def test_points_are_merged_by_the_endpoints_own_requests() -> None:
    """A merged point weights each bucket by that endpoint's requests; empty buckets are None."""
    assert merged([100.0, 300.0, None, None], [1.0, 3.0, 0.0, 0.0], 2) == [250.0, None]


def test_sample_draws_one_row_of_two_small_charts_per_endpoint(report: RunReport) -> None:
    """Each endpoint: a p95 and an error chart sharing the drill's fault window and scales."""
    rows = build_small_multiples(report)
    assert [name for name, _, _ in rows] == sorted(report.series.endpoints)
    for _, p95, err in rows:
        assert (p95.metric, err.metric) == ("p95", "errors")
        assert len(p95.bands) == len(report.faults) == len(err.bands)
    assert len({p95.yticks[-1][1] for _, p95, _ in rows}) == 1  # one scale for all
    page = html.render(report)
    assert page.count('class="small-svg"') == 2 * len(rows)
    assert 'data-endpoint="GET /orders/{id}" data-metric="errors"' in page


def test_no_small_multiples_without_endpoint_series(report: RunReport) -> None:
    """Reports made before per-endpoint series existed render without the section."""
    old = report.model_copy(update={"series": report.series.model_copy(update={"endpoints": {}})})
    assert build_small_multiples(old) == []
    assert 'id="endpoints-over-time"' not in html.render(old)
