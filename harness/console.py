"""The terminal side of a run: a live view while a drill runs, and the verdict afterwards.

On a terminal, a rich live panel redraws a few times a second; elsewhere (CI
logs) a plain line is printed every few seconds. Both show phase and time left,
requests a second, p95, error ratio, users, active faults and abort conditions.
"""

from __future__ import annotations

import sys
from typing import TextIO

from rich.console import Console
from rich.live import Live
from rich.table import Table

from harness.drill.live import LiveStatus
from harness.results.model import RunReport, Verdict

PLAIN_EVERY_S = 2.0
_VERDICT_STYLE = {
    Verdict.PASS: "bold green",
    Verdict.FAIL: "bold red",
    Verdict.ABORTED: "bold magenta",
    Verdict.INCONCLUSIVE: "bold yellow",
}


def _fmt(value: float | None, pattern: str) -> str:
    return "-" if value is None else pattern.format(value)


class LiveView:
    """Call with each :class:`LiveStatus`; use as a context manager around the run."""

    def __init__(self, mode: str = "auto", stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self.mode = ("rich" if self.stream.isatty() else "plain") if mode == "auto" else mode
        self._live: Live | None = None
        self._last_plain_s = -PLAIN_EVERY_S

    def __enter__(self) -> LiveView:
        if self.mode == "rich":
            self._live = Live(
                console=Console(file=self.stream), refresh_per_second=4, transient=True
            )
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
            self._live.update(self._table(status))
            return
        if status.t_s - self._last_plain_s >= PLAIN_EVERY_S:
            self._last_plain_s = status.t_s
            faults = ", ".join(status.active_faults) or "none"
            print(
                f"[{status.t_s:6.1f}/{status.duration_s:.0f} s] phase {status.phase} "
                f"({status.phase_left_s:.0f} s left) users {status.users} "
                f"rps {status.rps:.0f} p95 {_fmt(status.p95_ms, '{:.0f} ms')} "
                f"errors {_fmt(status.error_ratio, '{:.1%}')} faults: {faults}",
                file=self.stream,
                flush=True,
            )

    @staticmethod
    def _table(status: LiveStatus) -> Table:
        table = Table(
            title=f"drill {status.t_s:.1f} / {status.duration_s:.0f} s", show_header=False
        )
        table.add_column(style="bold")
        table.add_column()
        table.add_row("phase", f"{status.phase} ({status.phase_left_s:.0f} s left)")
        table.add_row("users", str(status.users))
        table.add_row("requests/s", f"{status.rps:.0f}")
        table.add_row("p95", _fmt(status.p95_ms, "{:.0f} ms"))
        table.add_row("error ratio", _fmt(status.error_ratio, "{:.1%}"))
        table.add_row("active faults", ", ".join(status.active_faults) or "none")
        table.add_row("abort when", "; ".join(status.abort_conditions) or "never")
        return table


def print_verdict(report: RunReport, run_dir: str, stream: TextIO | None = None) -> None:
    """The verdict, every check with threshold and measured value, and where the report is."""
    console = Console(file=stream or sys.stdout, highlight=False)
    style = _VERDICT_STYLE[report.verdict]
    console.print(
        f"[{style}]{report.verdict.value.upper()}[/]  {report.drill}: {report.verdict_reason}"
    )
    table = Table(show_edge=False)
    for column in ("check", "phase", "threshold", "measured", "result"):
        table.add_column(column)
    for check in report.checks:
        measured = "no data" if check.measured is None else f"{check.measured:.4g} {check.unit}"
        table.add_row(
            check.name,
            check.phase or "drill",
            f"{check.comparator} {check.threshold:g} {check.unit}",
            measured,
            "[green]pass[/]" if check.passed else "[red]FAIL[/]",
        )
    console.print(table)
    for timing in report.timings:
        console.print(
            f"fault {timing.fault}: failover {_fmt(timing.failover_s, '{:.2f} s')}, "
            f"recovery {_fmt(timing.recovery_s, '{:.2f} s')}"
        )
    if report.writes is not None:
        console.print(
            f"acknowledged writes: {report.writes.acknowledged}, verified {report.writes.verified}, "
            f"lost {len(report.writes.lost)}"
        )
    console.print(f"report: {run_dir}/report.html")
