"""summary.md: verdict, check table and per-phase table in GitHub-flavoured Markdown."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from harness.report import errors, fmt
from harness.report.verdicts import style
from harness.results.model import RunReport


def render(report: RunReport) -> str:
    """Return the Markdown summary of ``report`` (for a CI step summary or a PR comment)."""
    v = style(report.verdict)
    lines = [
        f"## {v.emoji} {v.label}: {cell(report.drill)}",
        "",
        f"**{cell(report.verdict_reason)}**",
        "",
        f"Target `{report.target_url}` · run `{report.run_id}` · started "
        f"{fmt.when(report.started_at)} · {fmt.seconds(report.duration_s)}",
        "",
        "### Checks",
        "",
        *table(
            ["", "Check", "Phase", "Measured", "Threshold", "Unit"],
            [
                [
                    ("✅ pass" if c.passed else "❌ **FAIL**") + (" ⚠️" if c.generator_limited else ""),
                    cell(c.name),
                    cell(c.phase or "whole drill"),
                    fmt.value(c.measured, c.unit),
                    fmt.check_expectation(c),
                    fmt.unit_label(c.unit),
                ]
                for c in report.checks
            ],
            align="lllrrl",
        ),
        *_check_notes(report),
        "",
        "### Phases",
        "",
        *table(
            ["Phase", "Time", "Requests", "rps", "Errors", "Fallback", "Shed",
             "p50 ms", "p95 ms", "p99 ms"],
            [
                [
                    cell(p.name), f"{p.start_s:g}–{p.end_s:g} s", f"{p.requests:,}",
                    fmt.number(p.rps), fmt.percent(p.error_ratio), fmt.percent(p.fallback_ratio),
                    fmt.percent(p.shed_ratio), fmt.ms(p.p50_ms), fmt.ms(p.p95_ms),
                    fmt.ms(p.p99_ms),
                ]
                for p in report.phases
            ],
            align="llrrrrrrrr",
        ),
    ]
    lines += _errors(report)
    lines += _resilience(report)
    return "\n".join(lines).rstrip() + "\n"


def _errors(report: RunReport) -> list[str]:
    """What the errors were: per phase the largest (endpoint, kind) counts."""
    found = errors.report_lines(report)
    if not found:
        return []
    return [
        "",
        "### Errors by kind",
        "",
        *table(
            ["Phase", "Endpoint", "Kind", "Errors", "Share"],
            [
                [cell(e.phase), f"`{code(e.endpoint)}`", f"`{code(e.kind)}`", f"{e.count:,}",
                 fmt.percent(e.share)]
                for e in found
            ],
            align="lllrr",
        ),
    ]


def _resilience(report: RunReport) -> list[str]:
    lines: list[str] = []
    if report.timings:
        lines += ["", "### Failover and recovery", ""]
        lines += table(
            ["Fault", "Started", "Ended", "Failover", "Recovery"],
            [
                [cell(t.fault), fmt.seconds(t.fault_start_s), fmt.seconds(t.fault_end_s),
                 fmt.timing(t.failover_s, t.failover_no_data) if t.failover_checked else fmt.MISSING,
                 fmt.timing(t.recovery_s, t.recovery_no_data)]
                for t in report.timings
            ],
            align="lrrrr",
        )
    extras = [*report.load.notes]
    if report.generator is not None:
        extras.append(_generator_line(report))
    if report.writes is not None:
        w = report.writes
        line = fmt.writes_line(w)
        if w.lost:
            lost = f", {len(w.lost):,} lost"
            line = line.replace(lost, f", **{lost[2:]}**", 1)
        extras.append(f"Writes: {line}")
    if report.sustainable_peak is not None:
        extras.append(f"Sustainable peak: {fmt.number(report.sustainable_peak)}")
    if extras:
        lines += ["", *(f"- {e}" for e in extras)]
    return lines


def _check_notes(report: RunReport) -> list[str]:
    notes = [f"- ⚠️ {cell(c.name)}: {c.note}" for c in report.checks if c.note]
    return ["", *notes] if notes else []


def _generator_line(report: RunReport) -> str:
    g = report.generator
    assert g is not None
    bounds = f"bounds {fmt.value(g.lag_limit_ms, 'ms')}, {fmt.number(g.cpu_limit_percent)} %"
    if g.drill is None:
        return f"Load generator: no figures within the drill ({bounds})"
    figures = (
        f"worst event-loop lag {fmt.value(g.drill.lag_max_ms, 'ms')}, CPU up to "
        f"{fmt.number(g.drill.cpu_max_percent)} % of a core ({bounds})"
    )
    if g.limited_phases:
        return (
            f"⚠️ **Load generator passed a bound** during {', '.join(g.limited_phases)}: "
            f"{figures}; latencies measured then include its own delay"
        )
    return f"Load generator: {figures}"


def code(text: str) -> str:
    """``text`` for inline code in a table cell (no backticks, pipes escaped)."""
    return cell(text.replace("`", "'"))


def cell(text: str) -> str:
    """Escape ``text`` for a Markdown table cell (pipes, newlines)."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def table(header: Sequence[str], rows: Iterable[Sequence[str]], align: str = "") -> list[str]:
    """Return the lines of a GitHub-flavoured Markdown table; ``align`` is one l/r per column."""
    marks = {"l": ":--", "r": "--:"}
    rule = [marks.get(a, "---") for a in align.ljust(len(header), "l")]
    return [
        "| " + " | ".join(header) + " |",
        "| " + " | ".join(rule) + " |",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]
