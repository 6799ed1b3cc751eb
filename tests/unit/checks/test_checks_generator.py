"""Latency checks say when their figure is limited by the load generator, and only then."""

from __future__ import annotations

from harness.checks import CheckContext, parse_checks
from harness.metrics.generator import GeneratorStore
from harness.metrics.synthetic import Seg, store_for
from harness.results.model import Outcome
from harness.results.raw import GeneratorRow

PHASES = [("calm", 0.0, 10.0), ("busy", 10.0, 20.0)]
TRAFFIC = [Seg(0, 20, "orders", Outcome.OK, 20, 100)]  # 100 ms throughout


def generator(stall_at_s: float | None) -> GeneratorStore:
    """1 ms lag every second, plus a 180 ms stall at ``stall_at_s``."""
    rows = [
        GeneratorRow(
            bucket=b,
            process="harness",
            samples=20,
            lag_max_ms=1.0,
            lag_mean_ms=0.5,
            cpu_percent=30.0,
        )
        for b in range(20)
    ]
    if stall_at_s is not None:
        rows.append(
            GeneratorRow(
                bucket=int(stall_at_s),
                process="harness",
                samples=1,
                lag_max_ms=180.0,
                lag_mean_ms=180.0,
                cpu_percent=97.0,
            )
        )
    return GeneratorStore.from_rows(rows, 1.0)


def context(stall_at_s: float | None) -> CheckContext:
    return CheckContext(store_for(TRAFFIC), 1.0, PHASES, generator=generator(stall_at_s))


def checks(max_ms: float) -> list:
    return parse_checks(
        [
            {"type": "latency", "percentile": 99, "max_ms": max_ms, "phase": "calm"},
            {"type": "latency", "percentile": 99, "max_ms": max_ms, "phase": "busy"},
            {"type": "latency", "percentile": 99, "max_ms": max_ms},  # the whole drill
            {"type": "latency", "percentile": 99, "max_ms": max_ms, "phase": "busy", "window_s": 2},
            {"type": "error_rate", "max_ratio": 0.1, "phase": "busy"},
        ]
    )


def test_a_stall_flags_the_latency_checks_that_cover_it() -> None:
    """A 180 ms stall in 'busy': its latency checks and the drill-wide one carry the note."""
    results = [c.evaluate(context(stall_at_s=14)) for c in checks(500)]
    flagged = [r.generator_limited for r in results]
    assert flagged == [False, True, True, True, False]  # not 'calm', not the error ratio
    note = results[1].note
    assert note.startswith("limited by the load generator: event-loop lag up to 180 ms")
    assert "during phase 'busy'" in note and "CPU up to" in note
    assert "during the drill" in results[2].note
    assert results[0].note == "" and results[4].note == ""


def test_the_verdict_still_comes_from_the_figure() -> None:
    """Flagged checks pass or fail on what they measured; the note does not change the result."""
    passing = [c.evaluate(context(stall_at_s=14)) for c in checks(500)]
    failing = [c.evaluate(context(stall_at_s=14)) for c in checks(50)]
    assert [r.passed for r in passing] == [True] * 5
    assert [r.passed for r in failing[:4]] == [False] * 4
    assert all(r.generator_limited for r in failing[1:4]) and all(
        r.generator_limited for r in passing[1:4]
    )
    assert failing[1].measured == passing[1].measured


def test_a_healthy_generator_or_none_recorded_adds_no_note() -> None:
    """No bound passed, or no health rows at all (older runs): no flag, no note."""
    for ctx in (
        context(stall_at_s=None),
        CheckContext(store_for(TRAFFIC), 1.0, PHASES),
    ):
        for result in (c.evaluate(ctx) for c in checks(500)):
            assert not result.generator_limited and result.note == ""
