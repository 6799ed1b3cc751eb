"""Error kinds through the recorder, the raw rows, the store and the phase summaries."""

from __future__ import annotations

import pytest

from harness.load.dropped import DroppedArrivals
from harness.metrics.histogram import decode, encode_values
from harness.metrics.recorder import Recorder, capped
from harness.metrics.store import MetricStore
from harness.metrics.summary import TOP_ERROR_KINDS, PhaseSpan, phase_summary
from harness.results.model import Outcome
from harness.results.raw import (
    DROPPED_ENDPOINT,
    DROPPED_KIND,
    MAX_ERROR_KINDS,
    OTHER_KIND,
    MetricRow,
)


def make() -> tuple[Recorder, list[MetricRow]]:
    rows: list[MetricRow] = []
    return Recorder(1.0, rows.extend), rows


def error(recorder: Recorder, kind: str, t_s: float = 0.5, latency_us: int | None = 1000) -> None:
    recorder.record(
        t_s=t_s, endpoint="orders", outcome=Outcome.ERROR, latency_us=latency_us, error_kind=kind
    )


def test_error_rows_count_their_kinds_and_ok_rows_carry_none() -> None:
    """Kinds are counted per (bucket, endpoint); they add up to the error row's count."""
    recorder, rows = make()
    for _ in range(3):
        error(recorder, "http 500")
    error(recorder, "ReadTimeout")
    error(recorder, "http 500", t_s=1.5)
    recorder.record(t_s=0.5, endpoint="orders", outcome=Outcome.OK, latency_us=900)
    recorder.flush_all()
    by_key = {(r.bucket, r.outcome): r for r in rows}
    assert by_key[0, Outcome.ERROR].errors == {"http 500": 3, "ReadTimeout": 1}
    assert by_key[0, Outcome.ERROR].count == 4
    assert by_key[1, Outcome.ERROR].errors == {"http 500": 1}
    assert by_key[0, Outcome.OK].errors == {}


def test_kinds_are_capped_per_row_with_the_rest_as_other() -> None:
    """60 distinct kinds in one bucket: the 20 most frequent stay exact, the rest sum to other."""
    recorder, rows = make()
    for i in range(60):
        for _ in range(100 - i):  # kind-0 is the most frequent, kind-59 the least
            error(recorder, f"kind-{i}")
    recorder.flush_all()
    (row,) = rows
    assert len(row.errors) == MAX_ERROR_KINDS + 1
    assert sum(row.errors.values()) == row.count == sum(100 - i for i in range(60))
    assert all(row.errors[f"kind-{i}"] == 100 - i for i in range(MAX_ERROR_KINDS))
    # memory: a key holds at most 2 x the cap; kinds first seen after that count as other
    held = sum(100 - i for i in range(2 * MAX_ERROR_KINDS, 60))
    folded = sum(100 - i for i in range(MAX_ERROR_KINDS, 2 * MAX_ERROR_KINDS))
    assert row.errors[OTHER_KIND] == held + folded


def test_the_memory_held_per_key_is_bounded() -> None:
    """100 000 distinct kinds (an id in every message) hold at most 2 x the cap per key."""
    recorder, rows = make()
    for i in range(100_000):
        error(recorder, f"failure: ticket {i}")
    assert len(recorder._errors[0, "orders", Outcome.ERROR]) <= 2 * MAX_ERROR_KINDS + 1
    recorder.flush_all()
    assert sum(rows[0].errors.values()) == 100_000


def test_an_untimed_error_counts_but_has_no_latency() -> None:
    """A task's own exception: in count and errors, not in the histograms (no 0 ms flattery)."""
    recorder, rows = make()
    error(recorder, "http 500", latency_us=250_000)
    error(recorder, "task exception: KeyError", latency_us=None)
    recorder.flush_all()
    (row,) = rows
    assert row.count == 2
    assert row.errors == {"http 500": 1, "task exception: KeyError": 1}
    assert decode(row.hist).count == 1
    assert decode(row.hist).max_ms() == pytest.approx(250.0, rel=0.001)


def test_capped_keeps_the_largest_and_sums_the_rest() -> None:
    """capped(): largest first, ties by name, 'other' absorbs the rest (and an existing other)."""
    assert capped({"b": 1, "a": 1, "c": 5}, 5) == {"c": 5, "a": 1, "b": 1}
    assert capped({"a": 5, "b": 4, "c": 3, OTHER_KIND: 2}, 2) == {"a": 5, "b": 4, OTHER_KIND: 5}
    assert capped({OTHER_KIND: 9, "a": 1, "b": 1}, 2) == {"a": 1, "b": 1, OTHER_KIND: 9}
    assert capped({OTHER_KIND: 9, "a": 1, "b": 1, "c": 1}, 2) == {"a": 1, "b": 1, OTHER_KIND: 10}


def test_dropped_arrivals_carry_their_kind() -> None:
    """Open model: drops are errors of kind 'harness: dropped'."""
    rows: list[MetricRow] = []
    drops = DroppedArrivals(1.0, rows.extend)
    for t in (0.1, 0.2, 1.1):
        drops.record(t)
    drops.flush_all()
    assert [(r.endpoint, r.count, r.errors) for r in rows] == [
        (DROPPED_ENDPOINT, 2, {DROPPED_KIND: 2}),
        (DROPPED_ENDPOINT, 1, {DROPPED_KIND: 1}),
    ]


def test_old_rows_without_errors_still_load() -> None:
    """A metrics.jsonl line written before error kinds existed reads as errors == {}."""
    line = (
        '{"bucket": 0, "endpoint": "orders", "outcome": "error", "count": 2, '
        f'"hist": "{encode_values([1000, 2000])}", "hist_corrected": null, '
        '"retry_after_missing": 0}'
    )
    row = MetricRow.model_validate_json(line)
    assert row.errors == {}
    store = MetricStore.from_rows([row], 1.0)
    summary = phase_summary(store, PhaseSpan("load", 0.0, 1.0))
    assert summary.outcome_counts[Outcome.ERROR] == 2
    assert summary.errors == [] and summary.endpoints["orders"].errors == []


def test_phase_and_endpoint_summaries_list_the_top_kinds_then_other() -> None:
    """Rows from two workers merge; per endpoint and phase: the top 5 kinds, then other."""
    recorder, rows = make()
    for i, n in enumerate((40, 30, 20, 10, 5, 3, 2)):
        for _ in range(n):
            error(recorder, f"kind-{i}")
    for _ in range(7):
        recorder.record(
            t_s=0.5, endpoint="chat", outcome=Outcome.ERROR, latency_us=10, error_kind="http 503"
        )
    recorder.flush_all()
    store = MetricStore.from_rows(rows + rows, 1.0)  # the same rows twice: two workers
    summary = phase_summary(store, PhaseSpan("load", 0.0, 1.0))
    orders = [(e.kind, e.count) for e in summary.endpoints["orders"].errors]
    assert orders == [
        ("kind-0", 80),
        ("kind-1", 60),
        ("kind-2", 40),
        ("kind-3", 20),
        ("kind-4", 10),
        (OTHER_KIND, 10),
    ]
    assert [(e.kind, e.count) for e in summary.endpoints["chat"].errors] == [("http 503", 14)]
    phase = [(e.kind, e.count) for e in summary.errors]
    assert len(phase) == TOP_ERROR_KINDS + 1
    assert phase[:3] == [("kind-0", 80), ("kind-1", 60), ("kind-2", 40)]
    assert sum(n for _, n in phase) == summary.outcome_counts[Outcome.ERROR] == 2 * 117
