"""The load generator's health and the closed-model caveat in report.html, summary.md and report.json."""

from __future__ import annotations

from html.parser import HTMLParser

from harness.report import html, json_format, markdown
from harness.report.charts import build_charts
from harness.report.sample import sample_report
from harness.results.model import GeneratorHealth, GeneratorSummary, LoadSummary, RunReport

NOTE = (
    "limited by the load generator: event-loop lag up to 180 ms (bound 50 ms), CPU up to 97 % "
    "of a core (bound 90 %) during phase 'fault'; latencies measured then include the "
    "generator's own delay"
)
CLOSED = "Closed model: latencies are as measured, not corrected for coordinated omission."


def health(lag_ms: float, cpu: float, limited: bool) -> GeneratorHealth:
    return GeneratorHealth(
        lag_max_ms=lag_ms,
        lag_p95_ms=lag_ms / 2,
        lag_mean_ms=1.0,
        cpu_max_percent=cpu,
        limited=limited,
    )


def with_generator(limited: bool) -> RunReport:
    """The sample drill with generator rows: a stall in 'fault' when ``limited``."""
    base = sample_report()
    fault = health(180.0, 97.0, True) if limited else health(4.0, 40.0, False)
    phases = [
        p.model_copy(update={"generator": fault if p.name == "fault" else health(2.0, 30.0, False)})
        for p in base.phases
    ]
    checks = [
        c.model_copy(update={"generator_limited": True, "note": NOTE})
        if limited and c.name == "fault-p99"
        else c
        for c in base.checks
    ]
    n = len(base.series.t_s)
    lag = [180.0 if limited and t == 15 else 2.0 for t in range(n)]
    series = base.series.model_copy(
        update={"generator_lag_ms": lag, "generator_cpu_percent": [30.0] * n}
    )
    summary = GeneratorSummary(
        lag_limit_ms=50.0,
        cpu_limit_percent=90.0,
        drill=fault,
        processes={"worker-11": fault, "master": health(3.0, 5.0, False)},
        limited_phases=["fault"] if limited else [],
    )
    load = LoadSummary(
        model="closed",
        shape="steady",
        scenario="chat-peak",
        notes=[CLOSED + " Use load.model: open for corrected latency."],
    )
    return base.model_copy(
        update={
            "phases": phases,
            "checks": checks,
            "series": series,
            "generator": summary,
            "load": load,
        }
    )


class _Elements(HTMLParser):
    def __init__(self, page: str) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))

    def with_class(self, cls: str) -> list[dict[str, str | None]]:
        return [a for _, a in self.found if cls in (a.get("class") or "").split()]


def test_html_flags_the_limited_check_and_draws_the_generator_lanes() -> None:
    """The limited check has a badge and its note; lag and CPU charts follow, their bound drawn."""
    page = html.render(with_generator(limited=True))
    elements = _Elements(page)
    badges = elements.with_class("generator-limited")
    assert len(badges) == 1 and badges[0]["title"] == NOTE
    assert page.count('class="note check-note"') == 1 and "event-loop lag up to 180 ms" in page
    charts = [a["data-chart"] for t, a in elements.found if t == "section" and "data-chart" in a]
    # a closed model's users (the sample records them) follow the throughput
    assert charts == ["latency", "throughput", "users", "ratios", "generator-lag", "generator-cpu"]
    lag_chart = build_charts(with_generator(limited=True))[4]
    bound = [t for t in lag_chart.thresholds if t.kind == "bound"]
    assert len(bound) == 1 and bound[0].label == "bound 50 ms" and not bound[0].passed
    assert 'id="generator" data-limited="true"' in page
    assert 'data-generator-process="master"' in page and "not judged" in page


def test_html_without_a_limit_has_no_badge_and_a_held_bound() -> None:
    """A healthy generator: charts and table, but no badge, no note, the bound line held."""
    report = with_generator(limited=False)
    page = html.render(report)
    assert not _Elements(page).with_class("generator-limited")
    assert "check-note" not in page and 'data-limited="false"' in page
    assert all(t.passed for c in build_charts(report)[4:] for t in c.thresholds)


def test_html_of_an_older_run_has_no_generator_parts() -> None:
    """Reports without generator data (older runs, the sample) render as before."""
    page = html.render(sample_report())
    assert 'id="generator"' not in page and "generator-lag" not in page
    assert len(build_charts(sample_report())) == 3


def test_html_and_markdown_say_a_closed_model_is_not_corrected() -> None:
    """The closed-model caveat from the report's load notes is in both human formats."""
    report = with_generator(limited=False)
    assert CLOSED in html.render(report)
    assert CLOSED in markdown.render(report)


def test_markdown_marks_the_check_and_adds_the_generator_line() -> None:
    """summary.md: a warning mark in the check's row, its note under the table, one generator line."""
    text = markdown.render(with_generator(limited=True))
    row = next(line for line in text.splitlines() if "| fault-p99 |" in line)
    assert row.startswith("| ❌ **FAIL** ⚠️ |")
    assert f"- ⚠️ fault-p99: {NOTE}" in text
    assert (
        "- ⚠️ **Load generator passed a bound** during fault: worst event-loop lag 180 ms, "
        "CPU up to 97 % of a core (bounds 50 ms, 90 %)" in text
    )
    healthy = markdown.render(with_generator(limited=False))
    assert "⚠️" not in healthy
    assert "- Load generator: worst event-loop lag 4 ms, CPU up to 40 % of a core" in healthy


def test_json_round_trips_the_generator_fields() -> None:
    """report.json carries the flag, the note, per-phase health, series and summary."""
    report = with_generator(limited=True)
    again = RunReport.model_validate_json(json_format.render(report))
    assert again == report
    limited = next(c for c in again.checks if c.generator_limited)
    assert limited.name == "fault-p99" and limited.note == NOTE
    assert again.generator is not None and again.generator.limited_phases == ["fault"]
