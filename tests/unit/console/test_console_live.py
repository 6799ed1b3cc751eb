"""The live view and the verdict printout, rendered from fabricated statuses and reports."""

from __future__ import annotations

import io

from rich.console import Console

from harness.console import LiveView, abort_line, plain_line, print_verdict, status_panel
from harness.drill.live import LiveStatus
from harness.report.sample import aborted_report, sample_report

FAULT = "orders-primary-down on helpdesk_orders_primary"


def status(t_s: float = 6.2, phase: str = "outage", **changes: object) -> LiveStatus:
    """A plausible status in the middle of an outage phase, with ``changes`` applied."""
    values: dict[str, object] = dict(
        t_s=t_s,
        duration_s=18.0,
        phase=phase,
        phase_left_s=5.8,
        rps=11.6,
        p95_ms=118.4,
        error_ratio=0.021,
        users=12,
        active_faults=[FAULT],
        abort_conditions=["error_ratio > 0.5 for 5 s"],
    )
    values.update(changes)
    return LiveStatus(**values)  # type: ignore[arg-type]


class FakeTerminal(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def render(renderable: object) -> str:
    """What rich prints for ``renderable`` on a plain 100-column console."""
    out = io.StringIO()
    Console(file=out, width=100, color_system=None).print(renderable)
    return out.getvalue()


def test_plain_line_has_every_figure() -> None:
    """A plain line names time, phase, time left, users, rps, p95, errors and the active faults."""
    line = plain_line(status())
    assert line == (
        "[   6.2/18 s] phase outage (6 s left) users 12 rps 11.6 p95 118 ms errors 2.1 % "
        f"faults: {FAULT}"
    )


def test_plain_line_without_data_or_faults() -> None:
    """Before the first whole second, p95 and errors show '-' and faults 'none'."""
    line = plain_line(status(rps=0.0, p95_ms=None, error_ratio=None, active_faults=[]))
    assert "rps 0 p95 - errors - faults: none" in line


def test_abort_line_lists_conditions_or_never() -> None:
    """Abort conditions are joined with '; ', and a drill without any says so."""
    assert abort_line(status(abort_conditions=["a", "b"])) == "abort when: a; b"
    assert "never" in abort_line(status(abort_conditions=[]))


def test_panel_shows_every_figure() -> None:
    """The rich panel has the time, phase, users, rps, p95, error ratio, faults and abort rows."""
    text = render(status_panel(status()))
    assert "drill 6.2 / 18 s" in text
    for row in (
        "outage (6 s left)",
        "requests/s     11.6",
        "118 ms",
        "2.1 %",
        FAULT,
        "error_ratio > 0.5 for 5 s",
    ):
        assert row in text, row


def test_panel_escapes_markup_in_names() -> None:
    """Square brackets in phase or fault names are shown, not eaten as rich markup."""
    text = render(status_panel(status(phase="p[1]", active_faults=["crm [slow]"])))
    assert "p[1]" in text and "crm [slow]" in text


def test_panel_without_data() -> None:
    """Missing figures render as '-', no faults as 'none', no abort conditions as 'never'."""
    text = render(
        status_panel(status(p95_ms=None, error_ratio=None, active_faults=[], abort_conditions=[]))
    )
    assert "none" in text and "never" in text and "-" in text


def test_plain_mode_throttles_but_reports_changes() -> None:
    """Plain mode prints every 2 s, and at once when the phase or the active faults change."""
    out = io.StringIO()
    with LiveView("plain", out) as view:
        view(status(0.0, "baseline", active_faults=[]))
        view(status(0.5, "baseline", active_faults=[]))  # throttled
        view(status(2.0, "baseline", active_faults=[]))
        view(status(2.1, "outage", active_faults=[]))  # phase change
        view(status(2.2, "outage"))  # fault applied
        view(status(3.0, "outage"))  # throttled
    lines = out.getvalue().splitlines()
    assert lines[0] == "abort when: error_ratio > 0.5 for 5 s"
    assert [line.split("]")[0] for line in lines[1:]] == [
        "[   0.0/18 s",
        "[   2.0/18 s",
        "[   2.1/18 s",
        "[   2.2/18 s",
    ]
    assert lines[-1].endswith(f"faults: {FAULT}")


def test_auto_mode_picks_plain_off_a_terminal_and_rich_on_one() -> None:
    """``auto`` means plain lines for a pipe or file and the rich panel for a terminal."""
    assert LiveView("auto", io.StringIO()).mode == "plain"
    assert LiveView("auto", FakeTerminal()).mode == "rich"


def test_rich_mode_draws_the_panel() -> None:
    """In rich mode the panel with the current figures is written to the stream."""
    out = FakeTerminal()
    with LiveView("rich", out) as view:
        view(status())
    assert "requests/s" in out.getvalue() and "outage (6 s left)" in out.getvalue()


def test_off_mode_prints_nothing() -> None:
    """``off`` writes nothing at all."""
    out = io.StringIO()
    with LiveView("off", out) as view:
        view(status())
    assert out.getvalue() == ""


def test_verdict_lists_every_check_unwrapped() -> None:
    """Off a terminal the verdict, every check and the report path are printed on unwrapped lines."""
    out = io.StringIO()
    report = sample_report()
    print_verdict(report, "/a/very/long/path/" + "x" * 80, out)
    text = out.getvalue()
    assert text.startswith("FAIL  orders-failover: 1 of 9 checks failed")
    for check in report.checks:
        assert check.name in text
    assert f"report: /a/very/long/path/{'x' * 80}/report.html" in text.splitlines()


def test_verdict_keeps_brackets_in_check_names() -> None:
    """A derived check name like 'p95 ≤ 3000 ms [outage]' is printed with its bracketed scope."""
    report = sample_report()
    first = report.checks[0].model_copy(update={"name": "p95 latency ≤ 250 ms [baseline]"})
    report = report.model_copy(update={"checks": [first, *report.checks[1:]]})
    out = io.StringIO()
    print_verdict(report, "/r", out)
    assert "p95 latency ≤ 250 ms [baseline]" in out.getvalue()


def test_verdict_of_an_aborted_run() -> None:
    """An aborted report prints ABORTED with its reason and 'no data' for unmeasured checks."""
    out = io.StringIO()
    print_verdict(aborted_report(), "/r", out)
    assert out.getvalue().startswith("ABORTED")
    assert "no data" in out.getvalue()


def test_open_model_line_has_dropped_arrivals_and_generator_health() -> None:
    """An open model's line adds its dropped arrivals; the generator's lag and CPU follow."""
    line = plain_line(
        status(dropped_arrivals=1234, generator_lag_ms=3.21, generator_cpu_percent=41.0)
    )
    assert "rps 11.6 dropped 1,234 p95 118 ms" in line
    assert "errors 2.1 % generator lag 3.21 ms cpu 41 % faults:" in line
    panel = render(
        status_panel(status(dropped_arrivals=7, generator_lag_ms=80.0, generator_cpu_percent=95.0))
    )
    assert "dropped arrivals" in panel and "7" in panel
    assert "load generator" in panel and "lag 80 ms cpu 95 %" in panel


def test_live_window_keeps_the_generators_recent_worst() -> None:
    """The live window reports the worst lag and CPU of the last 2 s of rows, not the master's."""
    from harness.drill.live import LiveWindow
    from harness.results.raw import GeneratorRow

    live = LiveWindow()
    assert live.generator(1.0) == (None, None)
    for start, process, lag, cpu in [
        (0.0, "worker-1", 90.0, 20.0),
        (3.0, "worker-1", 2.0, 30.0),
        (3.25, "worker-2", 5.0, 60.0),
        (3.25, "master", 500.0, 99.0),
    ]:
        live.add_health(
            start,
            GeneratorRow(
                bucket=0,
                process=process,
                samples=5,
                lag_max_ms=lag,
                lag_mean_ms=1.0,
                cpu_percent=cpu,
            ),
        )
    assert live.generator(4.0) == (5.0, 60.0)
