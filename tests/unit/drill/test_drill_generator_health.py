"""The analysis reads the load generator's health rows back and says what they mean."""

from __future__ import annotations

from pathlib import Path

from harness.drill.analysis import CLOSED_MODEL_NOTE, build_report
from harness.drill.model import Drill
from harness.metrics.synthetic import Seg, rows_for
from harness.results.files import RunFiles
from harness.results.model import EventKind, Outcome, TimelineEvent
from harness.results.raw import GeneratorRow, RunMeta

BUCKET_S = 0.25


def drill(model: str = "closed", generator: dict | None = None) -> Drill:
    data = {
        "name": "gen",
        "target": {"url": "http://127.0.0.1:8080"},
        "load": {"scenario": "s", "model": model, "shape": {"type": "steady", "level": 5}},
        "phases": [
            {
                "name": "calm",
                "duration_s": 2,
                "checks": [{"type": "latency", "percentile": 99, "max_ms": 500}],
            },
            {
                "name": "busy",
                "duration_s": 2,
                "checks": [
                    {"type": "latency", "percentile": 99, "max_ms": 500},
                    {"type": "error_rate", "max_ratio": 0.1},
                ],
            },
        ],
    }
    if generator is not None:
        data["generator"] = generator
    return Drill.model_validate(data)


def run_dir(tmp_path: Path, d: Drill, health: list[GeneratorRow] | None) -> Path:
    """A finished run of ``d``: 100 ms requests throughout, and ``health`` rows (None: none)."""
    files = RunFiles(tmp_path / "run")
    files.write_meta(
        RunMeta(
            run_id="run",
            drill=d.model_dump(mode="json", by_alias=True),
            drill_file=None,
            started_at="2026-01-01T00:00:00+00:00",
            started_at_unix_s=0.0,
            bucket_s=BUCKET_S,
            target_url=d.target.url,
            toxiproxy_url=None,
        )
    )
    files.event(TimelineEvent(t_s=0.0, kind=EventKind.RUN_STARTED, message="started"))
    files.metric_rows(rows_for([Seg(0, 4, "orders", Outcome.OK, 20, 100)], BUCKET_S))
    for row in health or []:
        files.generator_row(row)
    files.event(TimelineEvent(t_s=4.0, kind=EventKind.RUN_ENDED, message="ended"))
    files.close()
    return files.run_dir


def health_rows(stall_bucket: int | None, process: str = "harness") -> list[GeneratorRow]:
    """16 healthy buckets of 4 s; a 180 ms stall at ``stall_bucket``."""
    return [
        GeneratorRow(
            bucket=b,
            process=process,
            samples=5,
            lag_max_ms=180.0 if b == stall_bucket else 1.0,
            lag_mean_ms=40.0 if b == stall_bucket else 0.5,
            cpu_percent=30.0,
        )
        for b in range(16)
    ]


def test_a_stall_in_one_phase_notes_that_phases_latency_check(tmp_path: Path) -> None:
    """A stall at 2.5 s (phase 'busy'): its latency check is flagged, 'calm' and errors are not."""
    report = build_report(run_dir(tmp_path, drill(), health_rows(stall_bucket=10)))
    by_phase = {(c.phase, c.type): c for c in report.checks}
    busy = by_phase["busy", "latency"]
    assert busy.passed and busy.generator_limited
    assert busy.note.startswith("limited by the load generator: event-loop lag up to 180 ms")
    assert not by_phase["calm", "latency"].generator_limited
    assert not by_phase["busy", "error_rate"].generator_limited
    phases = {p.name: p.generator for p in report.phases}
    assert phases["busy"].limited and phases["busy"].lag_max_ms == 180.0
    assert not phases["calm"].limited and phases["calm"].lag_max_ms == 1.0
    assert report.generator is not None
    assert report.generator.limited_phases == ["busy"]
    assert (report.generator.lag_limit_ms, report.generator.cpu_limit_percent) == (50.0, 90.0)
    assert list(report.generator.processes) == ["harness"]
    assert report.series.generator_lag_ms[10] == 180.0
    assert len(report.series.generator_cpu_percent) == len(report.series.t_s) == 16


def test_bounds_come_from_the_drill(tmp_path: Path) -> None:
    """generator.max_lag_ms: 200 lets the same 180 ms stall pass without a note."""
    d = drill(generator={"max_lag_ms": 200})
    report = build_report(run_dir(tmp_path, d, health_rows(stall_bucket=10)))
    assert not any(c.generator_limited for c in report.checks)
    assert report.generator.lag_limit_ms == 200.0 and report.generator.limited_phases == []


def test_a_run_without_health_rows_reports_as_before(tmp_path: Path) -> None:
    """No generator.jsonl (a run made before it existed): no figures, no notes, nothing breaks."""
    report = build_report(run_dir(tmp_path, drill(), None))
    assert report.generator is None
    assert all(p.generator is None for p in report.phases)
    assert report.series.generator_lag_ms == [] and not any(c.note for c in report.checks)


def test_closed_model_says_its_latency_is_not_corrected(tmp_path: Path) -> None:
    """The closed-model caveat is in the report's load notes; the open model has none."""
    closed = build_report(run_dir(tmp_path / "c", drill("closed"), None))
    assert closed.load.notes == [CLOSED_MODEL_NOTE]
    assert "not corrected for coordinated omission" in CLOSED_MODEL_NOTE
    open_ = build_report(run_dir(tmp_path / "o", drill("open"), None))
    assert open_.load.notes == []
