"""The target's state as lanes in report.html: states, gauges, counters as rates, on the drill's axis."""

from __future__ import annotations

from harness.report import html
from harness.report.lanes import SeriesKind, build_lanes, is_counter, pick, server_series
from harness.results.model import RunReport, ServerSample


def _samples(**series: list[float]) -> list[ServerSample]:
    length = len(next(iter(series.values())))
    return [
        ServerSample(t_s=float(i), values={k: v[i] for k, v in series.items()})
        for i in range(length)
    ]


def test_counters_by_name_or_by_rising_and_gauges_otherwise() -> None:
    """A ``_total`` name or a series that only rises (mostly) is a counter; a flat or falling one is not."""
    assert is_counter('http_requests_total{code="200"}', [0, 0, 0])
    assert is_counter("bytes_sent", [1, 2, 3, 5, 8])
    assert not is_counter("queue_depth", [0, 0, 0, 4])  # rose once: a gauge that filled
    assert not is_counter("queue_depth", [3, 4, 2, 5])


def test_counters_become_rates_and_a_restart_counts_from_zero() -> None:
    """A counter is drawn as its increase per second between scrapes; a drop is a restart."""
    (rate,) = server_series(_samples(req_total=[0, 10, 30, 5]), 4.0)
    assert rate.kind is SeriesKind.RATE
    assert [v for _, _, v in rate.spans] == [10.0, 20.0, 5.0]


def test_states_are_named_by_their_gauge_and_held_as_runs() -> None:
    """A ``_state`` gauge is a state, one segment per value held; unchanged series are dropped."""
    series = server_series(
        _samples(breaker_state=[0, 0, 2, 2, 0], up=[1, 1, 1, 1, 1], depth=[0, 3, 1, 0, 0]), 5.0
    )
    kinds = {s.name: s.kind for s in series}
    assert kinds == {"breaker_state": SeriesKind.STATE, "depth": SeriesKind.GAUGE}
    state = next(s for s in series if s.name == "breaker_state")
    assert state.spans == [(0.0, 2.0, 0.0), (2.0, 4.0, 2.0), (4.0, 5.0, 0.0)]


def test_states_first_then_gauges_then_counters_capped() -> None:
    """The lanes drawn: states, then gauges, then the busiest counters, at most ``limit``."""
    series = server_series(
        _samples(a_total=[0, 1, 2], b_total=[0, 50, 100], depth=[0, 3, 1], mode=[0, 1, 1]), 3.0
    )
    assert [s.name for s in pick(series, 3)] == ["mode", "depth", "b_total"]


def test_sample_report_draws_its_lanes_on_the_drill_axis(report: RunReport) -> None:
    """The sample's breaker state, in-flight gauge and counters are lanes; the flat one is not."""
    chart = build_lanes(report)
    assert chart is not None
    names = [lane.name for lane in chart.lanes]
    assert names[0] == "breaker_state{dependency=orders-primary}"
    assert "build_info{version=1.4.2}" not in names and chart.unchanged == 1
    assert {lane.kind for lane in chart.lanes} == set(SeriesKind)
    assert [b.label for b in chart.bands] == [f.fault for f in report.faults]
    assert {m.kind for m in chart.markers} >= {"phase", "failover", "recovery"}
    state = chart.lanes[0]
    assert [seg.text for seg in state.segments] == ["0", "1", "2", "1", "0"]


def test_lanes_are_in_the_page_with_labels_and_the_raw_table_stays(report: RunReport) -> None:
    """report.html has the lanes section, one labelled lane per series, and the raw table."""
    page = html.render(report)
    assert 'data-lanes="server"' in page
    assert 'class="lane lane-state" data-series="breaker_state{dependency=orders-primary}"' in page
    assert "tickets_created_total · counter, rate per second" in page
    assert 'id="server-samples"' in page


def test_no_lanes_without_samples(report: RunReport) -> None:
    """A drill that did not scrape /metrics has no lanes section."""
    assert build_lanes(report.model_copy(update={"server_samples": []})) is None
    assert 'data-lanes="server"' not in html.render(
        report.model_copy(update={"server_samples": []})
    )


def test_a_drill_names_its_lanes_in_its_order_also_unchanged_ones(report: RunReport) -> None:
    """target.lanes: a bare name stands for each label set, a labelled name for itself,
    drawn in the drill's order even when flat; what changed but was not named is counted."""
    samples = _samples(
        **{
            'breaker_state{dep="a"}': [0, 0, 0, 0],
            'breaker_state{dep="b"}': [0, 2, 2, 0],
            "queue_depth": [0, 3, 1, 0],
            "req_total": [0, 5, 9, 12],
        }
    )
    report = report.model_copy(
        update={"server_samples": samples, "lanes": ["req_total", "breaker_state"]}
    )
    chart = build_lanes(report)
    assert chart is not None and chart.named
    assert [lane.name for lane in chart.lanes] == [
        "req_total",
        'breaker_state{dep="a"}',  # never changed, drawn because it was named
        'breaker_state{dep="b"}',
    ]
    assert chart.hidden == 1 and chart.unchanged == 0  # queue_depth changed, not named
    page = html.render(report)
    assert "the drill names its lanes: target.lanes" in page
    only_b = report.model_copy(update={"lanes": ['breaker_state{dep="b"}']})
    assert [lane.name for lane in build_lanes(only_b).lanes] == ['breaker_state{dep="b"}']
