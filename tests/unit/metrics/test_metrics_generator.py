"""The load generator's health rows judged per span: figures, bounds, notes, series."""

from __future__ import annotations

import pytest

from harness.metrics.generator import GeneratorBounds, GeneratorStore
from harness.results.raw import GeneratorRow


def row(
    bucket: int,
    lag_ms: float = 1.0,
    cpu: float = 10.0,
    process: str = "harness",
    mean_ms: float | None = None,
    samples: int = 5,
) -> GeneratorRow:
    return GeneratorRow(
        bucket=bucket,
        process=process,
        samples=samples,
        lag_max_ms=lag_ms,
        lag_mean_ms=lag_ms if mean_ms is None else mean_ms,
        cpu_percent=cpu,
    )


def store(rows: list[GeneratorRow], **bounds: float) -> GeneratorStore:
    return GeneratorStore.from_rows(rows, 0.25, GeneratorBounds(**bounds))


def test_healthy_span_has_figures_and_no_note() -> None:
    """Lag and CPU under their bounds: figures are reported, no caveat."""
    s = store([row(b, lag_ms=1.0 + b, cpu=20.0) for b in range(8)])
    health = s.health(0, 8)
    assert health is not None
    assert (health.lag_max_ms, health.cpu_max_percent, health.limited) == (8.0, 20.0, False)
    assert health.lag_p95_ms == 8.0 and health.lag_mean_ms == pytest.approx(4.5)
    assert s.note(0, 8, "phase 'x'") is None


def test_lag_past_its_bound_limits_only_the_span_that_holds_it() -> None:
    """A 180 ms stall in bucket 5 limits [4, 8) and names the figure; [0, 4) stays clean."""
    s = store([row(b) for b in range(8)] + [row(5, lag_ms=180.0, process="worker-2")])
    assert s.note(0, 4, "phase 'a'") is None
    note = s.note(4, 8, "phase 'b'")
    assert note is not None
    assert note.startswith("limited by the load generator: event-loop lag up to 180 ms")
    assert "(bound 50 ms)" in note and "during phase 'b'" in note
    assert "(bound 90 %)" not in note  # CPU was fine: no bound named for it


def test_cpu_is_judged_on_one_second_averages() -> None:
    """One bucket at 100 % among quiet ones is no limit; a whole second above 90 % is."""
    spike = store([row(b, cpu=100.0 if b == 2 else 40.0) for b in range(8)])
    assert spike.health(0, 8).cpu_max_percent == pytest.approx(55.0)  # (100 + 3 x 40) / 4
    assert not spike.health(0, 8).limited
    busy = store([row(b, cpu=97.0 if 3 <= b < 7 else 20.0) for b in range(8)])
    health = busy.health(0, 8)
    assert health.cpu_max_percent == pytest.approx(97.0) and health.limited
    assert "CPU up to 97 % of a core (bound 90 %)" in busy.note(0, 8, "the drill")


def test_bounds_are_settable() -> None:
    """The same rows pass a looser bound and break a tighter one."""
    rows = [row(b, lag_ms=30.0) for b in range(4)]
    assert store(rows).note(0, 4, "x") is None
    assert store(rows, lag_ms=20.0).note(0, 4, "x") is not None


def test_a_locust_master_is_listed_but_not_judged() -> None:
    """The master times no request: its stalls neither limit latency nor enter the series."""
    s = store(
        [row(b, process="worker-1") for b in range(4)]
        + [row(b, lag_ms=500.0, cpu=99.0, process="master") for b in range(4)]
    )
    assert s.processes == ["master", "worker-1"] and s.judged == ["worker-1"]
    assert not s.health(0, 4).limited
    lag, cpu = s.series(4)
    assert lag == [1.0] * 4 and cpu == [10.0] * 4
    summary = s.summary(0, 4, limited_phases=[])
    assert summary.processes["master"].limited and not summary.drill.limited


def test_rows_of_one_process_and_bucket_merge_worst_first() -> None:
    """A repeated (process, bucket) keeps the worst lag and CPU and weighs the mean by samples."""
    s = store(
        [
            row(0, lag_ms=4.0, mean_ms=2.0, cpu=30.0, samples=3),
            row(0, lag_ms=9.0, mean_ms=6.0, cpu=20.0, samples=1),
        ]
    )
    health = s.health(0, 1)
    assert (health.lag_max_ms, health.cpu_max_percent) == (9.0, 30.0)
    assert health.lag_mean_ms == pytest.approx(3.0)


def test_series_and_empty_spans() -> None:
    """The series is aligned on buckets from 0 (None where no row); an empty span has no figures."""
    s = store([row(1, lag_ms=2.0, cpu=5.0), row(1, lag_ms=7.0, cpu=9.0, process="worker-2")])
    assert s.series(3) == ([None, 7.0, None], [None, 9.0, None])
    assert s.health(5, 9) is None and s.note(5, 9, "x") is None
    assert not GeneratorStore(0.25)
