"""The terminal side of a run: a live view while a drill runs, and the verdict afterwards.

On a terminal, a rich live panel redraws four times a second; elsewhere (CI
logs, the pytest plugin's child processes) plain lines are printed: one when the
phase or the set of active faults changes, else one every ``PLAIN_EVERY_S``.
Both show phase and time left, requests a second, p95, error ratio, users,
dropped arrivals (open model), the load generator's own event-loop lag and CPU,
active faults and abort conditions (plain mode prints those once, and again if
they change). The figures come from :class:`~harness.drill.live.LiveStatus`
(the last whole second of load), so this module never touches Locust.

``plain_line`` and ``status_panel`` are pure functions of a status, for tests.
"""

from __future__ import annotations

import sys
from typing import TextIO

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table

from harness.drill.live import LiveStatus
from harness.report.errors import describe, phase_lines
from harness.report.fmt import number, seconds, value, writes_line
from harness.results.model import ResilienceTiming, RunReport, Verdict

PLAIN_EVERY_S = 2.0
PLAIN_WIDTH = 200  # non-terminal output: wide enough that CI logs never wrap a line
ERRORS_PER_PHASE = 3  # the verdict names each phase's largest error kinds
_VERDICT_STYLE = {
    Verdict.PASS: "bold green",
    Verdict.FAIL: "bold red",
    Verdict.ABORTED: "bold magenta",
    Verdict.INCONCLUSIVE: "bold yellow",
}


def _ms(ms: float | None) -> str:
    return "-" if ms is None else f"{number(ms)} ms"


def _pct(ratio: float | None) -> str:
    return "-" if ratio is None else f"{number(ratio * 100)} %"


def plain_line(status: LiveStatus) -> str:
    """One log line: ``[ 4.1/18 s] phase outage (8 s left) users 12 rps 11 p95 118 ms ...``.

    An open model adds its dropped arrivals; the load generator's worst event-loop lag
    and CPU of the last 2 s follow once it has reported them.
    """
    faults = ", ".join(status.active_faults) or "none"
    dropped = f"dropped {status.dropped_arrivals:,} " if status.dropped_arrivals is not None else ""
    return (
        f"[{status.t_s:6.1f}/{status.duration_s:.0f} s] phase {status.phase} "
        f"({status.phase_left_s:.0f} s left) users {status.users} "
        f"rps {number(status.rps)} {dropped}p95 {_ms(status.p95_ms)} "
        f"errors {_pct(status.error_ratio)} {generator_text(status)}faults: {faults}"
    )


def generator_text(status: LiveStatus) -> str:
    """``generator lag 3.2 ms cpu 41 % `` (with a trailing space), or "" before its first row."""
    if status.generator_lag_ms is None:
        return ""
    cpu = number(status.generator_cpu_percent) if status.generator_cpu_percent is not None else "-"
    return f"generator lag {_ms(status.generator_lag_ms)} cpu {cpu} % "


def abort_line(status: LiveStatus) -> str:
    """``abort when: error_ratio > 0.5 for 5 s`` (or ``never``)."""
    return "abort when: " + ("; ".join(status.abort_conditions) or "never (no abort conditions)")


def status_panel(status: LiveStatus) -> Panel:
    """The rich live panel: progress over the drill, then one row per figure."""
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    progress = ProgressBar(total=max(status.duration_s, 1e-9), completed=status.t_s, width=30)
    table.add_row("progress", progress)
    table.add_row("phase", f"{escape(status.phase)} ({status.phase_left_s:.0f} s left)")
    table.add_row("users", str(status.users))
    table.add_row("requests/s", number(status.rps))
    if status.dropped_arrivals is not None:
        dropped = f"{status.dropped_arrivals:,}"
        table.add_row(
            "dropped arrivals", f"[red]{dropped}[/]" if status.dropped_arrivals else dropped
        )
    table.add_row("p95", _ms(status.p95_ms))
    errors = _pct(status.error_ratio)
    table.add_row("error ratio", f"[red]{errors}[/]" if status.error_ratio else errors)
    if status.generator_lag_ms is not None:
        table.add_row("load generator", generator_text(status).strip())
    faults = ", ".join(escape(f) for f in status.active_faults)
    table.add_row("active faults", f"[bold red]{faults}[/]" if faults else "none")
    table.add_row("abort when", escape("; ".join(status.abort_conditions)) or "never")
    return Panel(
        table,
        title=f"drill {status.t_s:.1f} / {status.duration_s:.0f} s",
        title_align="left",
        expand=False,
    )


class LiveView:
    """Call with each :class:`LiveStatus`; use as a context manager around the run.

    ``mode``: ``auto`` (rich on a terminal, plain otherwise), ``rich``, ``plain`` or ``off``.
    """

    def __init__(self, mode: str = "auto", stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self.mode = ("rich" if _is_terminal(self.stream) else "plain") if mode == "auto" else mode
        self._live: Live | None = None
        self._last_plain_s = -PLAIN_EVERY_S
        self._last_key: tuple[str, tuple[str, ...]] | None = None
        self._last_abort: tuple[str, ...] | None = None

    def __enter__(self) -> LiveView:
        if self.mode == "rich":
            console = Console(file=self.stream, force_terminal=True)
            self._live = Live(console=console, refresh_per_second=4, transient=True)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)
            self._live = None

    def __call__(self, status: LiveStatus) -> None:
        if self.mode == "off":
            return
        if self._live is not None:
            self._live.update(status_panel(status))
            return
        self._plain(status)

    def _plain(self, status: LiveStatus) -> None:
        abort = tuple(status.abort_conditions)
        if abort != self._last_abort:
            self._last_abort = abort
            self._print(abort_line(status))
        key = (status.phase, tuple(status.active_faults))
        if key != self._last_key or status.t_s - self._last_plain_s >= PLAIN_EVERY_S:
            self._last_key = key
            self._last_plain_s = status.t_s
            self._print(plain_line(status))

    def _print(self, line: str) -> None:
        print(line, file=self.stream, flush=True)


def _timings_line(timing: ResilienceTiming) -> str:
    """``failover 0.52 s, recovery no data (reason)``; failover only when a check timed it."""

    def figure(figure_s: float | None, no_data: str | None) -> str:
        if figure_s is not None:
            return seconds(figure_s)
        return f"no data ({no_data})" if no_data else "never"

    recovery = f"recovery {figure(timing.recovery_s, timing.recovery_no_data)}"
    if not timing.failover_checked:
        return recovery
    return f"failover {figure(timing.failover_s, timing.failover_no_data)}, {recovery}"


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def print_verdict(report: RunReport, run_dir: str, stream: TextIO | None = None) -> None:
    """The verdict, every check with threshold and measured value, and where the report is."""
    out = stream or sys.stdout
    width = None if _is_terminal(out) else PLAIN_WIDTH
    console = Console(file=out, highlight=False, width=width)
    style = _VERDICT_STYLE[report.verdict]
    console.print(
        f"[{style}]{report.verdict.value.upper()}[/]  {escape(report.drill)}: "
        f"{escape(report.verdict_reason)}"
    )
    table = Table(show_edge=False)
    for column in ("check", "phase", "threshold", "measured", "result"):
        table.add_column(column)
    for check in report.checks:
        measured = "no data" if check.measured is None else value(check.measured, check.unit)
        table.add_row(
            escape(check.name),
            escape(check.phase or "drill"),
            f"{check.comparator} {value(check.threshold, check.unit)}",
            measured,
            "[green]pass[/]" if check.passed else "[red]FAIL[/]",
        )
    console.print(table)
    for check in report.checks:
        if check.note:
            console.print(f"[yellow]note[/] {escape(check.name)}: {escape(check.note)}")
    for phase in report.phases:
        lines = phase_lines(phase, ERRORS_PER_PHASE)
        if lines:
            top = "; ".join(describe(line) for line in lines)
            console.print(f"[red]errors[/] in {escape(phase.name)}: {escape(top)}", soft_wrap=True)
    for timing in report.timings:
        console.print(f"fault {escape(timing.fault)}: {escape(_timings_line(timing))}")
    if report.writes is not None:
        console.print(f"writes: {escape(writes_line(report.writes))}")
    console.print(f"report: {escape(run_dir)}/report.html", soft_wrap=True)
