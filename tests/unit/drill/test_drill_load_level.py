"""The load level of each bucket goes from raw/load.jsonl into the report's series and charts."""

from __future__ import annotations

from pathlib import Path

from test_drill_generator_health import BUCKET_S, drill, run_dir

from harness.drill.analysis import build_report
from harness.report.charts import build_charts
from harness.results.files import RunFiles
from harness.results.raw import LoadLevelRow


def _with_levels(tmp_path: Path, model: str, rows: list[LoadLevelRow]) -> Path:
    path = run_dir(tmp_path, drill(model), None)
    files = RunFiles(path)
    for row in rows:
        files.load_level(row)
    files.close()
    return path


def test_closed_model_users_per_bucket_and_their_chart(tmp_path: Path) -> None:
    """Users asked for and running are aligned on the buckets; a closed model draws a users chart."""
    rows = [LoadLevelRow(bucket=b, level=5.0, users=min(b, 5)) for b in range(16)]
    report = build_report(_with_levels(tmp_path, "closed", rows))
    assert report.series.users == [min(b, 5) for b in range(16)]
    assert report.series.load_level == [5.0] * 16
    charts = {c.key: c for c in build_charts(report)}
    assert [c.key for c in build_charts(report)][:3] == ["latency", "throughput", "users"]
    assert [line.key for line in charts["users"].lines] == ["users", "users-target"]


def test_open_model_target_rate_on_the_throughput_chart(tmp_path: Path) -> None:
    """An open model's target arrival rate is a line of the throughput chart, not a chart."""
    rows = [LoadLevelRow(bucket=b, level=20.0, users=3) for b in range(0, 16, 2)]  # gaps: None
    report = build_report(_with_levels(tmp_path, "open", rows))
    assert report.series.load_level[:3] == [20.0, None, 20.0]
    charts = {c.key: c for c in build_charts(report)}
    assert "users" not in charts
    assert [line.key for line in charts["throughput"].lines] == ["rps", "target-rate"]


def test_runs_without_load_rows_have_empty_lists(tmp_path: Path) -> None:
    """A run made before load.jsonl existed: the lists stay empty and no line is drawn."""
    report = build_report(run_dir(tmp_path, drill("closed"), None))
    assert report.series.load_level == [] and report.series.users == []
    assert "users" not in {c.key for c in build_charts(report)}
    assert BUCKET_S == report.series.bucket_s
